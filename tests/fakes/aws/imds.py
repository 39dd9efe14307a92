"""A small EC2 instance-metadata service (IMDSv2) on 127.0.0.1, as a node with an instance
profile sees it.

boto3 on a fake node reads it through ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (put in the node's
environment by the test harness). It hands out credentials only for the role of an instance
profile that moto says is attached to a live instance, so a node launched without an identity
gets none, as on EC2. Tokens are required (IMDSv2): ``PUT /latest/api/token`` first.
"""

from __future__ import annotations

import json
import secrets
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.aws.moto_server import FAKE_KEYS, MotoServer

CREDS_PATH = "/latest/meta-data/iam/security-credentials/"


class FakeImds:
    def __init__(self, moto: MotoServer, region: str = "us-east-1") -> None:
        self.moto = moto
        self.region = region
        self.tokens: set[str] = set()
        self.requests: list[str] = []
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: str, ctype: str = "text/plain") -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                imds.requests.append(f"PUT {self.path}")
                if self.path != "/latest/api/token":
                    self._send(404, "")
                    return
                token = secrets.token_hex(16)
                imds.tokens.add(token)
                self._send(200, token)

            def do_GET(self) -> None:
                imds.requests.append(f"GET {self.path}")
                if self.headers.get("X-aws-ec2-metadata-token") not in imds.tokens:
                    self._send(401, "")
                    return
                role = imds.attached_role()
                if not self.path.startswith(CREDS_PATH) or role is None:
                    self._send(404, "")
                    return
                name = self.path[len(CREDS_PATH) :]
                if not name:
                    self._send(200, role)
                elif name == role:
                    expires = datetime.now(UTC) + timedelta(hours=1)
                    body = {
                        "Code": "Success",
                        "Type": "AWS-HMAC",
                        "AccessKeyId": FAKE_KEYS["AWS_ACCESS_KEY_ID"],
                        "SecretAccessKey": FAKE_KEYS["AWS_SECRET_ACCESS_KEY"],
                        "Token": "fake-session-token",
                        "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "LastUpdated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                    self._send(200, json.dumps(body), "application/json")
                else:
                    self._send(404, "")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def attached_role(self) -> str | None:
        """The role of the instance profile moto has on a live instance, if any."""
        import boto3

        kw = dict(endpoint_url=self.moto.url, region_name=self.region,
                  aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        res = boto3.client("ec2", **kw).describe_instances(
            Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]
        )
        for reservation in res["Reservations"]:
            for inst in reservation["Instances"]:
                arn = (inst.get("IamInstanceProfile") or {}).get("Arn")
                if arn:
                    name = arn.rsplit("/", 1)[-1]
                    profile = boto3.client("iam", **kw).get_instance_profile(
                        InstanceProfileName=name
                    )["InstanceProfile"]
                    roles = profile.get("Roles") or []
                    return str(roles[0]["RoleName"]) if roles else None
        return None

    def start(self) -> FakeImds:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
