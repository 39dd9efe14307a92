"""A Compute Engine metadata server on 127.0.0.1, as a VM with a service account sees it.

google-auth on a fake node finds it through ``GCE_METADATA_HOST``/``GCE_METADATA_IP`` (set in
the node's environment by the test harness). It hands out access tokens, which the fake GCE then
accepts, only while the fake has a running instance that was given a service account
(``serviceAccounts`` in instances.insert), as on GCE; every answer carries
``Metadata-Flavor: Google`` and every request must send it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.gcp.backend import FakeGCE

ACCOUNT_PATH = "/computeMetadata/v1/instance/service-accounts/default/"


class FakeMetadata:
    def __init__(self, fake: FakeGCE) -> None:
        self.fake = fake
        self.tokens_issued = 0
        meta = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: str, ctype: str = "application/text") -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Metadata-Flavor", "Google")
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.headers.get("Metadata-Flavor") != "Google":
                    self._send(403, "Missing Metadata-Flavor:Google header.")
                    return
                path = self.path.split("?", 1)[0]
                if path in ("/", "/computeMetadata/v1/", "/computeMetadata/v1"):
                    self._send(200, "computeMetadata/\n")
                elif path == "/computeMetadata/v1/project/project-id":
                    self._send(200, meta.fake.project)
                elif path == "/computeMetadata/v1/universe/universe-domain":
                    self._send(200, "googleapis.com")
                elif path.startswith(ACCOUNT_PATH):
                    meta.account(self, path[len(ACCOUNT_PATH) :])
                else:
                    self._send(404, "")

        self.handler = Handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def attached_account(self) -> str | None:
        """The service account of a running instance of the fake, if one has any."""
        with self.fake.lock:
            instances = list(self.fake.instances.values())
        for inst in instances:
            accounts = inst.get("serviceAccounts") or []
            if inst.get("status") == "RUNNING" and accounts:
                email = str(accounts[0].get("email") or "default")
                return f"{self.fake.project}-compute@developer.gserviceaccount.com" if (
                    email == "default") else email  # fmt: skip
        return None

    def account(self, handler: Any, rest: str) -> None:
        email = self.attached_account()
        if email is None:
            handler._send(404, "")
            return
        if rest in ("", "email"):
            body = {"email": email, "aliases": ["default"],
                    "scopes": ["https://www.googleapis.com/auth/compute"]}  # fmt: skip
            handler._send(200, json.dumps(body) if rest == "" else email, "application/json")
        elif rest == "token":
            token = "ya29.fake-md-" + secrets.token_urlsafe(24)
            with self.fake.accounts.lock:
                self.fake.accounts.tokens[token] = time.time() + 3600
            self.tokens_issued += 1
            body = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
            handler._send(200, json.dumps(body), "application/json")
        else:
            handler._send(404, "")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeMetadata:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
