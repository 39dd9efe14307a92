"""The verbs beyond clusters: managed jobs, storage, cost-report, check.

Each calls the code the in-process CLI calls (:mod:`styx.jobs.api`, :mod:`styx.storage.manage`,
:mod:`styx.cost.report`, :mod:`styx.cloud_check`) and answers with what the CLI prints from.
A user sees only what they own (managed jobs and buckets by their owner, costs by the
clusters they own); an admin sees everything with ``all_users``. Another user's job or bucket
answers as if it did not exist.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import Any

from styx.core.printer import Printer
from styx.db.users import User
from styx.errors import StyxError

JOB_LOG_POLL_S = 0.3
LOG_CHUNK = 64 * 1024  # a long log goes to the request's output in pieces, not one row


def _visible(owner: str | None, user: User, args: dict[str, Any]) -> bool:
    from styx.server.verbs import visible

    return visible(owner, user, bool(args.get("all_users")))


def _not_found(what: str) -> StyxError:
    from styx.server.verbs import NotFoundError

    return NotFoundError(f"{what} not found")


def _job_id(value: Any, field: str = "job_id") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise StyxError(f"{field}: expected a positive job id, got {str(value)[:40]!r}")
    return value


def job_wire(job: Any) -> dict[str, Any]:
    """A managed job's record for the client: everything but its task file (which holds its
    environment)."""
    data = dataclasses.asdict(job)
    data.pop("task_yaml", None)
    data["status"] = job.status.value
    return data


# ---- managed jobs --------------------------------------------------------------------------


def _own_job(job_id: int, user: User, args: dict[str, Any]) -> Any:
    from styx.jobs.store import JobStore
    from styx.state.store import open_store

    job = JobStore(open_store()).get(job_id)
    if job is None or not _visible(job.owner, user, args):
        raise _not_found(f"managed job {job_id}")
    return job


def jobs_launch(args: dict[str, Any]) -> list[int]:
    from styx.jobs import api
    from styx.server.verbs import UNPACKED, UnpackedUpload, _task, check_local_allowed

    stages = args.get("stages")
    if not isinstance(stages, list) or not stages or not all(isinstance(s, dict) for s in stages):
        raise StyxError("stages: expected a list of task files (mappings)")
    unpacked = args.get(UNPACKED)
    if isinstance(unpacked, UnpackedUpload):
        # Every relaunch syncs these files again: they outlive the request, until the last job
        # naming them is final (styx.jobs.files.forget_files).
        import uuid

        from styx.jobs.files import uploads_dir
        from styx.server import uploads

        kept = uploads.adopt(unpacked.folder, uploads_dir() / uuid.uuid4().hex)
        args = {**args, UNPACKED: UnpackedUpload(kept)}
    tasks = []
    for index, stage in enumerate(stages):
        try:
            task = _task({**args, "task": stage})
            check_local_allowed(task)
        except StyxError as exc:
            if len(stages) == 1:
                raise
            raise type(exc)(f"pipeline stage {index + 1}: {exc}") from None
        tasks.append(task)
    pipeline = args.get("pipeline")
    if pipeline is not None and not isinstance(pipeline, str):
        raise StyxError("pipeline: expected a name")
    return api.submit(tasks, pipeline=pipeline, retry_until_up=bool(args.get("retry_until_up")))


def jobs_queue(args: dict[str, Any], user: User) -> list[dict[str, Any]]:
    from styx.jobs import api

    mine = [j for j in api.queue(include_all=True) if _visible(j.owner, user, args)]
    if not args.get("all"):
        mine = api.recent(mine)
    return [job_wire(j) for j in mine]


async def jobs_logs(args: dict[str, Any], user: User, printer: Printer) -> dict[str, Any]:
    """The job's log (the controller's copy of it) to the printer; with ``follow``, until the
    job is final. Async, so that a cancelled request stops following at once."""
    from styx.jobs.files import log_path

    job_id = _job_id(args.get("job_id"))
    job = _own_job(job_id, user, args)
    follow = bool(args.get("follow", True))
    path = log_path(job_id)
    offset = 0
    while True:
        final = job.status.final  # read before the file: the last lines are in when it is final
        if path.exists():
            with open(path, encoding="utf-8", errors="replace") as f:
                f.seek(offset)
                while chunk := f.read(LOG_CHUNK):
                    printer.output(chunk)
                offset = f.tell()
        if final or not follow:
            return job_wire(job)
        await asyncio.sleep(JOB_LOG_POLL_S)
        job = _own_job(job_id, user, args)


def jobs_cancel(args: dict[str, Any], user: User) -> dict[str, list[int]]:
    from styx.jobs import api
    from styx.jobs.store import JobStore
    from styx.state.store import open_store

    if args.get("all"):
        active = JobStore(open_store()).active()
        ids = [j.job_id for j in active if _visible(j.owner, user, args)]
    else:
        raw = args.get("job_ids")
        if not isinstance(raw, list) or not raw:
            raise StyxError("job_ids: expected a list of job ids (or all)")
        ids = [_job_id(j, "job_ids") for j in raw]
        for job_id in ids:
            _own_job(job_id, user, args)
    if not ids:
        return {"marked": [], "done": []}
    marked, done = api.cancel(ids)
    return {"marked": marked, "done": done}


# ---- storage, cost, check ------------------------------------------------------------------


def bucket_wire(record: Any) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    data["store"] = record.store.value
    return data


def storage_ls(args: dict[str, Any], user: User) -> list[dict[str, Any]]:
    from styx.storage.manage import list_buckets

    return [bucket_wire(b) for b in list_buckets() if _visible(b.owner, user, args)]


async def storage_delete(args: dict[str, Any], user: User) -> dict[str, Any]:
    from styx.storage import manage

    name = args.get("name")
    if not isinstance(name, str) or not name:
        raise StyxError("name: expected a bucket name or URL")
    mine = [b for b in manage.list_buckets() if _visible(b.owner, user, args)]
    matches = [b for b in mine if name in (b.name, b.url)]
    if not matches:
        raise _not_found(f"bucket '{name[:200]}'")
    if len(matches) > 1:
        urls = ", ".join(b.url for b in matches)
        raise StyxError(f"'{name[:200]}' names several buckets ({urls}); give its URL")
    return bucket_wire(await manage.delete(matches[0].url))


def _owned_clusters(user: User) -> set[str]:
    """The cluster names a user's cost report shows: their clusters alive now, and the clusters
    of their managed jobs (alive or gone). A gone cluster launched by hand has no owner left in
    the state store, so only an admin's --all-users report shows it."""
    from styx.jobs.runner import cluster_name_for
    from styx.jobs.store import JobStore
    from styx.state.store import open_store

    store = open_store()
    names = {c.name for c in store.list_clusters() if c.owner == user.name}
    names.update(cluster_name_for(j.job_id) for j in JobStore(store).list() if j.owner == user.name)
    return names


def cost_report(args: dict[str, Any], user: User) -> dict[str, Any]:
    from styx.cost.report import MAX_DAYS, build_report
    from styx.state.store import open_store

    days = args.get("days", 30.0)
    if isinstance(days, bool) or not isinstance(days, int | float) or not math.isfinite(days):
        raise StyxError(f"days: expected a number of days, got {str(days)[:40]!r}")
    if not 0 < days <= MAX_DAYS:
        raise StyxError(f"days: got {days:g}, expected days in (0, {MAX_DAYS}]")
    report = build_report(open_store(), float(days))
    if not (user.is_admin and args.get("all_users")):
        owned = _owned_clusters(user)
        report.clusters = [c for c in report.clusters if c.cluster in owned]
        report.total_cost = sum(c.cost for c in report.clusters)
        report.hourly_burn = sum(c.hourly_price for c in report.clusters)
    return report.to_dict()


async def check(args: dict[str, Any]) -> list[dict[str, Any]]:
    from styx.cloud_check import check_clouds

    clouds = args.get("clouds") or []
    if not isinstance(clouds, list) or not all(isinstance(c, str) for c in clouds):
        raise StyxError("clouds: expected a list of cloud names")
    return [r.to_dict() for r in await check_clouds(clouds)]


EXTRA_VERBS = (
    "jobs_launch",
    "jobs_queue",
    "jobs_logs",
    "jobs_cancel",
    "storage_ls",
    "storage_delete",
    "cost_report",
    "check",
)


async def run_extra_verb(verb: str, args: dict[str, Any], user: User, printer: Printer) -> Any:
    if verb == "jobs_launch":
        return jobs_launch(args)
    if verb == "jobs_queue":
        return jobs_queue(args, user)
    if verb == "jobs_logs":
        return await jobs_logs(args, user, printer)
    if verb == "jobs_cancel":
        return jobs_cancel(args, user)
    if verb == "storage_ls":
        return storage_ls(args, user)
    if verb == "storage_delete":
        return await storage_delete(args, user)
    if verb == "cost_report":
        return cost_report(args, user)
    if verb == "check":
        return await check(args)
    raise StyxError(f"verb: unknown '{verb}'")
