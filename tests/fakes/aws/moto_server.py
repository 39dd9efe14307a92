"""moto's EC2 (and STS, Service Quotas) served over real HTTP on a free 127.0.0.1 port.

The server runs in a thread of the test process, so a test can also reach into moto's backend
to make it fail the way AWS would (see :mod:`tests.fakes.aws.faults`). Reusable by any test
folder: ``start_moto()`` for a server, ``aws_env()`` for the variables that point boto3 at it.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
REGION = "us-east-1"


@dataclass
class MotoServer:
    server: object
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every resource (POST /moto-api/reset), between tests."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200, resp.status

    def require_auth(self, enabled: bool = True) -> None:
        """Make moto check access keys like AWS does: unknown keys get AuthFailure /
        InvalidClientTokenId on every call (POST /moto-api/reset-auth). Undo with False."""
        body = b"0" if enabled else b"inf"
        # text/plain: with urllib's default form type Flask would hide the body from moto.
        req = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth", method="POST", data=body,
            headers={"Content-Type": "text/plain"},
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200, resp.status

    def stop(self) -> None:
        self.server.stop()  # type: ignore[attr-defined]


def start_moto() -> MotoServer:
    """Start moto on 127.0.0.1 with an OS-chosen free port (port 0), ready on return."""
    import logging

    from moto.server import ThreadedMotoServer

    from tests.fakes.aws import strict

    strict.install()  # EC2 rules moto leaves out (ClientToken length, tag syntax, names)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return MotoServer(server, host, port)


def aws_env(server: MotoServer, region: str = REGION) -> dict[str, str]:
    """Environment that points boto3 (and anything using it, subprocesses too) at ``server``."""
    return {
        **FAKE_KEYS,
        "AWS_ENDPOINT_URL": server.url,
        "AWS_DEFAULT_REGION": region,
        # Never read the developer's real profile or config by accident.
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
