"""The HTTP routes. Every route but the probes (/api/health, /api/ready: server/probes.py)
needs ``Authorization: Bearer TOKEN``; a request or cluster of another user answers 404, as if
it did not exist.

  POST /api/requests                 {"verb", "args"} -> {"request_id"}
  GET  /api/requests                 the caller's requests (admins: ?all_users=1)
  GET  /api/requests/{id}            one request's record
  GET  /api/requests/{id}/stream     NDJSON: {"seq","stream","text"} lines from ?offset=N, then
                                     {"done": true, "request": {...}} when it has finished
  POST /api/requests/{id}/cancel
  POST /api/uploads                  a tar of a task's files -> {"upload_id"} (server/uploads.py)
  GET  /api/whoami
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from styx.db.engine import ApiDatabase
from styx.db.requests import RequestRecord, RequestStore
from styx.db.users import User, UserStore
from styx.errors import StyxError
from styx.server.probes import DRAINING_KEY, PUBLIC_PATHS, add_probe_routes
from styx.server.runner import DEFAULT_DRAIN_S, RequestRunner
from styx.server.static import is_public

STREAM_POLL_S = 0.2
MAX_BODY = 1024 * 1024

DB_KEY = web.AppKey("db", ApiDatabase)
RUNNER_KEY = web.AppKey("runner", RequestRunner)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or is_public(request.path):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token:
        users = UserStore(request.app[DB_KEY])
        user = await asyncio.to_thread(users.authenticate, token.strip())
    if user is None:
        return web.json_response(
            {"error": "missing or invalid token"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="styx"'},
        )
    request["user"] = user
    try:
        return await handler(request)
    except StyxError as exc:
        from styx.server.verbs import NotFoundError

        return _error(404 if isinstance(exc, NotFoundError) else 400, str(exc))


def _requests(request: web.Request) -> RequestStore:
    return RequestStore(request.app[DB_KEY])


async def _own_request(request: web.Request) -> RequestRecord:
    user: User = request["user"]
    record = await asyncio.to_thread(_requests(request).get, request.match_info["id"])
    if record is None or not (record.user == user.name or user.is_admin):
        raise web.HTTPNotFound(
            text=json.dumps({"error": "request not found"}), content_type="application/json"
        )
    return record


async def whoami(request: web.Request) -> web.Response:
    user: User = request["user"]
    return web.json_response({"user": user.name, "is_admin": user.is_admin})


async def submit(request: web.Request) -> web.Response:
    from styx.server.verbs import check_access

    user: User = request["user"]
    if request.app[DRAINING_KEY]:
        return _error(503, "the server is shutting down: send the request again")
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "body: expected JSON")
    if not isinstance(body, dict) or not isinstance(body.get("verb"), str):
        return _error(400, 'body: expected {"verb": ..., "args": {...}}')
    args = body.get("args") or {}
    if not isinstance(args, dict):
        return _error(400, "args: expected a mapping")
    verb = body["verb"]
    if args.get("all_users") and not user.is_admin:
        return _error(403, "--all-users: only an admin may see every user's clusters")
    cluster = await asyncio.to_thread(check_access, verb, args, user)
    store = _requests(request)
    # Task files stay out of the database: they may hold secrets (their envs and secrets).
    kept = {k: v for k, v in args.items() if k not in ("task", "stages")}
    request_id = await asyncio.to_thread(store.create, user.name, verb, kept, cluster)
    request.app[RUNNER_KEY].submit(request_id, verb, args, user)
    return web.json_response({"request_id": request_id}, status=202)


async def list_requests(request: web.Request) -> web.Response:
    user: User = request["user"]
    everyone = user.is_admin and request.query.get("all_users") == "1"
    records = await asyncio.to_thread(_requests(request).list, None if everyone else user.name)
    return web.json_response([r.to_dict() for r in records])


async def get_request(request: web.Request) -> web.Response:
    return web.json_response((await _own_request(request)).to_dict())


async def cancel_request(request: web.Request) -> web.Response:
    record = await _own_request(request)
    if not record.status.finished:
        await asyncio.to_thread(_requests(request).request_cancel, record.id)
    return web.json_response({"request_id": record.id, "status": record.status.value})


async def stream(request: web.Request) -> web.StreamResponse:
    """Output chunks from ``offset`` as they are stored (by whichever replica runs it)."""
    record = await _own_request(request)
    try:
        offset = max(0, int(request.query.get("offset", "0")))
    except ValueError:
        return _error(400, "offset: expected a non-negative integer")
    store = _requests(request)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    wakeups = request.app[RUNNER_KEY].wakeups
    while True:
        armed = wakeups.arm(record.id)
        # Read the status before the chunks: a request seen finished has stored all its output.
        record = await asyncio.to_thread(store.get, record.id) or record
        chunks = await asyncio.to_thread(store.logs, record.id, offset)
        for chunk in chunks:
            line = {"seq": chunk.seq, "stream": chunk.stream, "text": chunk.text}
            await response.write(json.dumps(line).encode() + b"\n")
            offset = chunk.seq + 1
        if record.status.finished and not chunks:
            await response.write(json.dumps({"done": True, "request": record.to_dict()}).encode())
            await response.write(b"\n")
            wakeups.forget(record.id)
            break
        if not chunks:
            await wakeups.wait(armed, STREAM_POLL_S)
    await response.write_eof()
    return response


def make_app(db: ApiDatabase, drain_s: float = DEFAULT_DRAIN_S) -> web.Application:
    """The application; on shutdown it lets running requests finish for up to ``drain_s``
    seconds, then marks the rest interrupted (see RequestRunner.shutdown)."""
    app = web.Application(middlewares=[auth_middleware], client_max_size=MAX_BODY)
    app[DB_KEY] = db
    app[RUNNER_KEY] = RequestRunner(RequestStore(db))
    add_probe_routes(app, db)
    app.router.add_get("/api/whoami", whoami)
    app.router.add_post("/api/requests", submit)
    app.router.add_get("/api/requests", list_requests)
    app.router.add_get("/api/requests/{id}", get_request)
    app.router.add_get("/api/requests/{id}/stream", stream)
    app.router.add_post("/api/requests/{id}/cancel", cancel_request)
    from styx.server import upload_route

    upload_route.register(app)
    from styx.server import reads, static

    reads.add_routes(app)  # the dashboard's JSON reads; `styx status` without --refresh
    static.add_routes(app)  # the dashboard's page, at /

    async def _shutdown(app: web.Application) -> None:
        app[DRAINING_KEY] = True
        from styx.server.jobs_leader import stop_jobs_leader

        await stop_jobs_leader(app)  # running managed jobs are left for the next leader
        await app[RUNNER_KEY].shutdown(drain_s)

    async def _cleanup(app: web.Application) -> None:
        db.close()  # after the last handler: streams still read the database while draining

    async def _startup(app: web.Application) -> None:
        import socket

        from styx.state.store import pid_alive

        store = RequestStore(db)
        await asyncio.to_thread(store.fail_orphans, socket.gethostname(), pid_alive)
        from styx.server.uploads import limits, sweep

        await asyncio.to_thread(lambda: sweep(limits().ttl_s))
        from styx.server.jobs_leader import start_jobs_leader

        start_jobs_leader(app, db)

    app.on_startup.append(_startup)
    app.on_shutdown.append(_shutdown)
    app.on_cleanup.append(_cleanup)
    return app
