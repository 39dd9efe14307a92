"""Start the server: check where it may listen, open the database, serve until stopped."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass

from styx.errors import StyxError

DEFAULT_PORT = 46580


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def check_listen(opts: ServeOptions) -> ssl.SSLContext | None:
    """The TLS context to serve with (None: plain HTTP). Tokens travel in every request, so
    plain HTTP beyond loopback is refused unless the operator says --insecure (e.g. behind a
    TLS-terminating proxy)."""
    if not 1 <= opts.port <= 65535:
        raise StyxError(f"--port: got {opts.port}, expected 1-65535")
    if bool(opts.certfile) != bool(opts.keyfile):
        raise StyxError("--tls-cert and --tls-key: give both or neither")
    if opts.certfile and opts.keyfile:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(opts.certfile, opts.keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise StyxError(f"--tls-cert/--tls-key: cannot load: {exc}") from exc
        return context
    if not is_loopback(opts.host) and not opts.insecure:
        raise StyxError(
            f"--host {opts.host}: listening beyond loopback needs TLS (--tls-cert and --tls-key) "
            "or --insecure"
        )
    return None


def serve(opts: ServeOptions) -> None:
    """Serve in this process until SIGINT/SIGTERM."""
    from aiohttp import web

    from styx.db import open_database
    from styx.server.app import make_app

    context = check_listen(opts)
    db = open_database()
    web.run_app(
        make_app(db),
        host=opts.host,
        port=opts.port,
        ssl_context=context,
        print=None,
        access_log=None,  # the default access log would be fine, but keep tokens out by design
        handle_signals=True,
    )
