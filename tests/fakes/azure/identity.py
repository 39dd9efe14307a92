"""A managed-identity token endpoint on 127.0.0.1, as a VM with a system-assigned identity
reaches it.

azure-identity's ManagedIdentityCredential (inside DefaultAzureCredential) uses it when
``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` are set (the App Service protocol, api-version
2019-08-01; the harness puts both in the fake node's environment, as the IMDS address cannot be
bound here). It answers with the token the fake ARM accepts, and only while the fake has a VM
that was given a system-assigned identity (``identity: {type: SystemAssigned}``); otherwise 400
"No managed identity", as Azure answers a VM without one. The fake ARM does not model role
assignments: any identity may act there.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.azure.state import FakeArm


class FakeManagedIdentity:
    def __init__(self, arm: FakeArm) -> None:
        self.arm = arm
        self.header = secrets.token_hex(8)
        self.tokens_issued = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if self.headers.get("X-IDENTITY-HEADER") != endpoint.header:
                    self._send(401, {"error": "unauthorized"})
                    return
                if url.path != "/msi/token" or not query.get("resource"):
                    self._send(400, {"error": "invalid_request"})
                    return
                if not endpoint.vm_has_identity():
                    self._send(400, {"error": "invalid_request",
                                     "error_description": "No managed identity"})  # fmt: skip
                    return
                endpoint.tokens_issued += 1
                self._send(200, {
                    "access_token": endpoint.arm.token,
                    "expires_on": str(int(time.time()) + 3600),
                    "resource": query["resource"],
                    "token_type": "Bearer",
                    "client_id": "00000000-0000-0000-0000-00000000c1d0",
                })  # fmt: skip

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def vm_has_identity(self) -> bool:
        with self.arm.lock:
            return any(
                (r.get("identity") or {}).get("type") == "SystemAssigned"
                and self.arm.vm_power.get(key) == "running"
                for key, r in self.arm.resources.items()
                if r["type"] == "Microsoft.Compute/virtualMachines"
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/msi/token"

    def start(self) -> FakeManagedIdentity:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
