"""Start the server: check where it may listen, open the database, serve until stopped.

It logs one line per event to stderr (start, drain, stop; never a request's arguments or a
token), which is the container's log when it runs in the foreground. SIGTERM or SIGINT stops
it gracefully: it stops accepting connections, lets running requests finish for up to
``drain_s`` seconds, marks the rest interrupted (their clients see it), then exits.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import sys
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
    drain_s: float = 20.0  # = runner.DEFAULT_DRAIN_S (not imported: the CLI stays light)


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
    if not 0 <= opts.drain_s <= 3600:
        raise StyxError(f"--drain-timeout: got {opts.drain_s:g}, expected 0-3600 seconds")
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
    _log_to_stderr()
    db = open_database()
    log = logging.getLogger("styx.server")
    scheme = "https" if context else "http"
    log.info(
        "serving on %s://%s:%d (database: %s, schema version %d)",
        scheme,
        opts.host,
        opts.port,
        db.engine.dialect.name,  # the dialect only: the URL may hold a password
        db.version(),
    )
    try:
        web.run_app(
            make_app(db, drain_s=opts.drain_s),
            host=opts.host,
            port=opts.port,
            ssl_context=context,
            print=None,
            access_log=None,  # the default access log would be fine, but keep tokens out by design
            handle_signals=True,
            # The drain happens in on_shutdown; this bounds the streams still open after it.
            shutdown_timeout=5.0,
        )
    except OSError as exc:  # the address is taken, or not ours to bind
        db.close()
        raise StyxError(f"--host/--port: cannot listen on {opts.host}:{opts.port}: {exc}") from exc
    log.info("stopped")


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("styx.server", "aiohttp.server", "aiohttp.web"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
