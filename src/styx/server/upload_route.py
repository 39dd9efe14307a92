"""``POST /api/uploads``: a tar stream of a task's files, written to disk as it arrives (never
held in memory), up to ``api_server.max_upload_mb``; answers ``{"upload_id", "size"}``."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from styx.db.users import User
from styx.server import uploads

CHUNK = 1024 * 1024


def _too_big(limit: int) -> web.Response:
    return web.json_response(
        {"error": f"upload: larger than the server's limit of {limit / 2**20:.3g} MB "
         "(api_server.max_upload_mb)"},
        status=413,
    )  # fmt: skip


async def post_upload(request: web.Request) -> web.Response:
    user: User = request["user"]
    limits = await asyncio.to_thread(uploads.limits)
    declared = request.content_length
    if declared is not None and declared > limits.max_bytes:
        return _too_big(limits.max_bytes)
    upload_id, path = await asyncio.to_thread(uploads.new_upload_path, user.name)
    part = path.with_suffix(".part")
    size = 0
    try:
        with open(os.open(part, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb") as f:
            async for chunk in request.content.iter_chunked(CHUNK):
                size += len(chunk)
                if size > limits.max_bytes:
                    part.unlink(missing_ok=True)
                    return _too_big(limits.max_bytes)
                await asyncio.to_thread(f.write, chunk)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)  # a dropped connection leaves no partial file
    # Abandoned uploads (a client that never sent its request) go after the TTL.
    await asyncio.to_thread(uploads.sweep, limits.ttl_s)
    return web.json_response({"upload_id": upload_id, "size": size}, status=201)


def register(app: web.Application) -> None:
    app.router.add_post("/api/uploads", post_upload)
