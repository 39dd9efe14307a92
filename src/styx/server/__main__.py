"""``python -m styx.server --host H --port P [...]``: what ``styx api start`` runs detached."""

from __future__ import annotations

import argparse
import sys

from styx.errors import StyxError
from styx.server.serve import DEFAULT_PORT, ServeOptions, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="styx-server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--drain-timeout", type=float, default=ServeOptions.drain_s)
    a = parser.parse_args(argv)
    try:
        serve(ServeOptions(a.host, a.port, a.tls_cert, a.tls_key, a.insecure, a.drain_timeout))
    except StyxError as exc:
        sys.stderr.write(f"styx: error: {exc}\n")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
