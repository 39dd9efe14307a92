"""Read-only JSON routes (the dashboard's, and the fast path of ``styx status``), answered from
the state store without a background request. Authenticated like every /api route; another
user's cluster answers 404; admins see everyone's with ``?all_users=1``.

  GET    /api/clusters                          ?all_users=1, ?name=N (repeatable)
  GET    /api/clusters/{name}/jobs              the head's queue (the stored copy if unreachable)
  GET    /api/clusters/{name}/jobs/{id}/logs    NDJSON {"text"} lines, live, then {"done", "job"}
                                                (or {"error"}); ?follow=0 for what is there now
  GET    /api/managed-jobs                      with their recovery counts
  GET    /api/cost-report                       ?days=N (default 30)
  GET    /api/tokens                            the caller's tokens (never a secret)
  POST   /api/tokens                            a new token for the caller: its secret, once
  DELETE /api/tokens/{id}
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from styx.db.users import User, UserStore
from styx.errors import StyxError
from styx.server.verbs import public_record, visible
from styx.state.store import ClusterRecord, ClusterStatus, StateStore

DEFAULT_REPORT_DAYS = 30.0
MANAGED_JOBS_LIMIT = 500
MAX_TOKENS_PER_USER = 50
LOG_POLL_S = 0.5  # how often an idle log stream checks whether its client went away

T = TypeVar("T")


def _json_error(status: int, message: str) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound}[status]
    return cls(text=json.dumps({"error": message}), content_type="application/json")


def _everyone(request: web.Request) -> bool:
    """``?all_users=1``: admins only (403 for others, as the request route answers)."""
    user: User = request["user"]
    if request.query.get("all_users") not in (None, "", "0"):
        if not user.is_admin:
            raise _json_error(403, "all_users: only an admin may see every user's clusters")
        return True
    return False


def _with_store(read: Callable[..., T], *args: Any) -> T:
    """Run ``read(store, *args)`` on a fresh state-store connection (in a worker thread)."""
    from styx.state.store import open_store

    store = open_store()
    try:
        return read(store, *args)
    finally:
        store.close()


def cluster_summary(store: StateStore, record: ClusterRecord) -> dict[str, Any]:
    """What a client may see of a cluster: its record without the task file (which may hold
    secrets), its cost so far, the head's last word on autostop or the cap, its last job."""
    from styx.cost.status_cells import cost_cells

    out = public_record(record)
    out.update(cost_cells(store, record).to_dict())
    jobs = store.jobs(record.name)
    out["last_job"] = dict(jobs[-1].__dict__) if jobs else None
    return out


def _clusters(store: StateStore, user: User, everyone: bool, names: list[str]) -> list[Any]:
    records = [r for r in store.list_clusters() if visible(r.owner, user, everyone)]
    if names:
        records = [r for r in records if r.name in names]
    return [cluster_summary(store, r) for r in records]


async def list_clusters(request: web.Request) -> web.Response:
    everyone = _everyone(request)
    names = request.query.getall("name", [])
    rows = await asyncio.to_thread(_with_store, _clusters, request["user"], everyone, names)
    return web.json_response(rows)


def _own_cluster_record(
    store: StateStore, name: str, user: User, everyone: bool
) -> ClusterRecord | None:
    record = store.get_cluster(name)
    if record is None or not visible(record.owner, user, everyone):
        return None
    return record


async def _own_cluster(request: web.Request) -> ClusterRecord:
    name = request.match_info["name"]
    everyone = _everyone(request)
    record = await asyncio.to_thread(
        _with_store, _own_cluster_record, name, request["user"], everyone
    )
    if record is None:
        raise _json_error(404, f"cluster '{name[:80]}' not found")
    return record


def _stored_jobs(store: StateStore, name: str) -> list[dict[str, Any]]:
    return [dict(j.__dict__) for j in store.jobs(name)]


async def cluster_jobs(request: web.Request) -> web.Response:
    """The head's queue when the cluster is up (the core's queue, which also refreshes the
    stored copy); the stored copy, with the reason, when it is not or cannot be reached."""
    from styx import core

    record = await _own_cluster(request)
    error = None
    if record.status is ClusterStatus.UP:
        try:
            jobs = [_job_dict(j) for j in await core.queue(record.name)]
            return web.json_response({"cluster": record.name, "source": "head", "jobs": jobs})
        except StyxError as exc:
            error = str(exc)
    else:
        error = f"cluster is {record.status.value}"
    jobs = await asyncio.to_thread(_with_store, _stored_jobs, record.name)
    body = {"cluster": record.name, "source": "store", "error": error, "jobs": jobs}
    return web.json_response(body)


def _job_id(request: web.Request) -> int:
    raw = request.match_info["job_id"]
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise _json_error(400, "job id: expected a positive integer")
    return int(raw)


async def job_logs(request: web.Request) -> web.StreamResponse:
    """A job's log as NDJSON, through the same core call as `styx logs`: one ``{"text"}`` line
    per chunk as the head sends it, then ``{"done": true, "job": {...}}`` when the job ends (or
    ``{"error": ...}``). The core call is cancelled when the client goes away."""
    from styx import core
    from styx.core.printer import Printer

    record = await _own_cluster(request)
    job_id = _job_id(request)
    follow = request.query.get("follow", "1") != "0"
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[str] = asyncio.Queue()
    printer = Printer(lambda text: loop.call_soon_threadsafe(chunks.put_nowait, text), _ignore)
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/x-ndjson",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a reverse proxy (nginx ingress) passes lines at once
        }
    )
    await response.prepare(request)
    work = asyncio.create_task(core.logs(record.name, job_id, follow, printer))
    try:
        while True:
            try:
                text = await asyncio.wait_for(chunks.get(), LOG_POLL_S)
            except TimeoutError:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return response  # the client went away: `finally` stops the core call
                if work.done() and chunks.empty():
                    break
                continue
            await response.write(json.dumps({"text": text}).encode() + b"\n")
        try:
            end: dict[str, Any] = {"done": True, "job": _job_dict(work.result())}
        except StyxError as exc:
            end = {"error": str(exc)}
        await response.write(json.dumps(end).encode() + b"\n")
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away mid-write
    finally:
        if not work.done():
            work.cancel()
        await asyncio.gather(work, return_exceptions=True)
    return response


def _ignore(_text: str) -> None:
    pass


def _job_dict(job: Any) -> dict[str, Any]:
    return {**job.to_dict(), "status": job.status.value}


def _managed_jobs(store: StateStore, user: User, everyone: bool) -> list[dict[str, Any]]:
    from styx.jobs.store import JobStore

    rows = []
    for job in JobStore(store).list(limit=MANAGED_JOBS_LIMIT):
        owner = getattr(job, "owner", None)
        # A job without an owner was submitted on the server machine itself: admins only.
        if owner == user.name or (user.is_admin and (everyone or owner is None)):
            rows.append({**job.to_public(), "owner": owner})
    return rows


async def managed_jobs(request: web.Request) -> web.Response:
    everyone = _everyone(request)
    rows = await asyncio.to_thread(_with_store, _managed_jobs, request["user"], everyone)
    return web.json_response(rows)


def _report(store: StateStore, days: float, mine: set[str] | None, user: str) -> dict[str, Any]:
    """The cost report, cut to the user's clusters: alive ones they own, and gone ones their
    requests named (unless someone else owns a live cluster of that name now)."""
    from styx.cost.report import build_report

    report = build_report(store, days)
    if mine is not None:
        owners = {r.name: r.owner for r in store.list_clusters()}
        named: set[str] = mine

        def theirs(name: str) -> bool:
            return owners[name] == user if name in owners else name in named

        report.clusters = [c for c in report.clusters if theirs(c.cluster)]
        report.total_cost = sum(c.cost for c in report.clusters)
        report.hourly_burn = sum(c.hourly_price for c in report.clusters)
    return report.to_dict()


async def cost_report(request: web.Request) -> web.Response:
    from styx.cost.report import MAX_DAYS
    from styx.db.requests import RequestStore
    from styx.server.app import DB_KEY

    user: User = request["user"]
    everyone = _everyone(request)
    try:
        days = float(request.query.get("days", DEFAULT_REPORT_DAYS))
    except ValueError:
        days = math.nan
    if not (math.isfinite(days) and 0 < days <= MAX_DAYS):
        raise _json_error(400, f"days: expected a number of days in (0, {MAX_DAYS}]")
    mine = None
    if not everyone:
        mine = await asyncio.to_thread(RequestStore(request.app[DB_KEY]).clusters_of, user.name)
    body = await asyncio.to_thread(_with_store, _report, days, mine, user.name)
    return web.json_response(body)


def _users(request: web.Request) -> UserStore:
    from styx.server.app import DB_KEY

    return UserStore(request.app[DB_KEY])


async def list_tokens(request: web.Request) -> web.Response:
    user: User = request["user"]
    tokens = await asyncio.to_thread(_users(request).tokens_of, user.name)
    return web.json_response([t.__dict__ for t in tokens])


async def create_token(request: web.Request) -> web.Response:
    user: User = request["user"]
    users = _users(request)
    if len(await asyncio.to_thread(users.tokens_of, user.name)) >= MAX_TOKENS_PER_USER:
        raise _json_error(400, f"tokens: at most {MAX_TOKENS_PER_USER} per user; revoke one")
    issued = await asyncio.to_thread(users.create_token, user.name)
    body = {"user": issued.user, "token_id": issued.token_id, "token": issued.token}
    return web.json_response(body, status=201, headers={"Cache-Control": "no-store"})


async def revoke_token(request: web.Request) -> web.Response:
    user: User = request["user"]
    token_id = request.match_info["id"]
    if not await asyncio.to_thread(_users(request).revoke_own, user.name, token_id):
        raise _json_error(404, f"token '{token_id[:40]}' not found")
    return web.json_response({"revoked": token_id})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/clusters", list_clusters)
    app.router.add_get("/api/clusters/{name}/jobs", cluster_jobs)
    app.router.add_get("/api/clusters/{name}/jobs/{job_id}/logs", job_logs)
    app.router.add_get("/api/managed-jobs", managed_jobs)
    app.router.add_get("/api/cost-report", cost_report)
    app.router.add_get("/api/tokens", list_tokens)
    app.router.add_post("/api/tokens", create_token)
    app.router.add_delete("/api/tokens/{id}", revoke_token)
