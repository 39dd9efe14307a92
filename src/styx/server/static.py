"""The web dashboard's files (static HTML, JS and CSS, no build step), served without a token:
they hold no data. The page's script reads everything through the /api routes with the token
the user pastes, sent as a bearer header (no cookie, so no cross-site request can use it)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aiohttp import web

DASHBOARD_DIR = Path(__file__).parent / "dashboard"
ASSETS = {"app.js": "text/javascript", "style.css": "text/css", "favicon.svg": "image/svg+xml"}

# Only this origin's own script and style: no inline code, no third-party anything.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


def is_public(path: str) -> bool:
    """The paths served without a token: the dashboard's page and its assets."""
    return path == "/" or path.startswith("/dashboard/")


@cache
def _read(name: str) -> bytes:
    return (DASHBOARD_DIR / name).read_bytes()


async def index(_request: web.Request) -> web.Response:
    return web.Response(
        body=_read("index.html"), content_type="text/html", charset="utf-8",
        headers=SECURITY_HEADERS,
    )  # fmt: skip


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["file"]
    if name not in ASSETS:  # a fixed list: no path from the URL reaches the file system
        raise web.HTTPNotFound(text="not found")
    return web.Response(
        body=_read(name), content_type=ASSETS[name], charset="utf-8", headers=SECURITY_HEADERS
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/dashboard/{file}", asset)
