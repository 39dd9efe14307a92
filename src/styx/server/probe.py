"""``python -m styx.server.probe [--port P] [--path /api/ready]``: exit 0 when the server on
this machine answers 200 there, 1 otherwise (the container image's HEALTHCHECK). The port
defaults to ``$STYX_API_PORT``, as ``styx api start``'s does, then 46580.

It tries HTTPS, then plain HTTP, on 127.0.0.1, so one command fits both ways the image runs.
Certificates are not verified: this checks that the local process answers, not who it is.
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
import urllib.error
import urllib.request

from styx.server.serve import DEFAULT_PORT

PORT_ENV = "STYX_API_PORT"


def answers(url: str, timeout: float) -> bool:
    context = ssl._create_unverified_context() if url.startswith("https") else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):  # refused, TLS mismatch, an HTTP error status, timeout
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="styx-probe")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get(PORT_ENV) or DEFAULT_PORT))
    parser.add_argument("--path", default="/api/ready")
    parser.add_argument("--timeout", type=float, default=4.0)
    a = parser.parse_args(argv)
    for scheme in ("https", "http"):
        if answers(f"{scheme}://{a.host}:{a.port}{a.path}", a.timeout):
            return 0
    sys.stderr.write(f"styx: no ready API server on {a.host}:{a.port}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
