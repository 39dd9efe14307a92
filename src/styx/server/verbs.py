"""What each request verb does: one call of the async core (no second implementation).

``run_verb`` is called with the request's user already set as the owner of anything it makes
(:data:`styx.config.REQUEST_OWNER`), and after :func:`check_access` allowed it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from styx.core.printer import Printer
from styx.db.users import User
from styx.errors import StyxError

# verb -> does it name a cluster in args["cluster"]
VERBS: dict[str, bool] = {
    "launch": True,
    "exec": True,
    "status": False,
    "queue": True,
    "logs": True,
    "cancel": True,
    "stop": True,
    "start": True,
    "down": True,
    "autostop": True,
    # managed jobs, storage, cost-report, check (styx.server.verbs_extra)
    "jobs_launch": False,
    "jobs_queue": False,
    "jobs_logs": False,
    "jobs_cancel": False,
    "storage_ls": False,
    "storage_delete": False,
    "cost_report": False,
    "check": False,
}


class NotFoundError(StyxError):
    """The thing does not exist, or belongs to another user (the same answer, on purpose)."""


# Set by run_verb only, never by a client (no JSON body holds a Python object): the folder a
# request's upload was unpacked in.
UNPACKED = "__unpacked_upload__"


@dataclasses.dataclass(frozen=True)
class UnpackedUpload:
    folder: Path


def _inside(folder: Path, text: str) -> bool:
    if text.startswith(("/", "~")):
        return False
    resolved = os.path.normpath(folder / text)
    return resolved == str(folder) or resolved.startswith(str(folder) + os.sep)


def _task(args: dict[str, Any], read_files: bool = True) -> Any:
    """The request's task. Its workdir and local file mounts are paths on the client's
    machine: they must come in the request's upload (relative names inside it), and must never
    read the server's own files. ``read_files=False`` (exec without --sync-workdir, which syncs
    nothing): the paths are never read, the task only says that it has a workdir."""
    from styx.task import Task

    data = args.get("task")
    if not isinstance(data, dict):
        raise StyxError("task: expected the task file as a mapping")
    unpacked = args.get(UNPACKED)
    folder = unpacked.folder if isinstance(unpacked, UnpackedUpload) else None
    task = Task.from_yaml(data, base_dir=str(folder) if folder else None)
    local = [("workdir", task.workdir)] if isinstance(task.workdir, str) else []
    local += [(f"file_mounts.{target[:120]}", src) for target, src in task.file_mounts.items()]
    for where, text in local if read_files else []:
        if folder is None:
            raise StyxError(
                f"{where}: a path on the client's machine needs an upload (args.upload); "
                "the styx client sends one"
            )
        if not _inside(folder, text):
            raise StyxError(f"{where}: expected a path inside the request's upload")
    for mount in task.storage_mounts:
        if mount.local_source is not None:
            raise StyxError(
                f"{mount.where}.source: a local folder copied to a bucket is not supported "
                "through the API server yet; upload it to the bucket first"
            )
    return task


def allow_local_provider() -> bool:
    """``api_server: {allow_local_provider: true}`` in the server's config.yaml. Off by default:
    a cluster on the local provider runs every user's commands on the server machine itself,
    next to its cloud credentials and its database."""
    from styx.config import load_config

    section = load_config().get("api_server") or {}
    return isinstance(section, dict) and section.get("allow_local_provider") is True


def check_local_allowed(task: Any) -> None:
    from styx.placement import clouds_for

    if "local" in clouds_for(task) and not allow_local_provider():
        raise StyxError(
            "infra: the local provider is off on this API server (it would run the task on the "
            "server machine); name a cloud, or set api_server.allow_local_provider in the "
            "server's config.yaml"
        )


def public_record(record: Any) -> dict[str, Any]:
    """A cluster record as a client may see it: without the task file, whose envs may hold
    secrets (and a request's result is stored)."""
    return {k: v for k, v in record.to_dict().items() if k != "task_yaml"}


def visible(owner: str | None, user: User, all_users: bool) -> bool:
    return owner == user.name or (user.is_admin and all_users)


def check_access(verb: str, args: dict[str, Any], user: User) -> str | None:
    """The request's cluster (None for verbs without one); NotFoundError when it belongs to
    someone else. A launch may name a cluster that does not exist yet (the user will own it)."""
    from styx.state.store import open_store

    if verb not in VERBS:
        raise StyxError(f"verb: unknown '{verb[:40]}', expected one of {', '.join(VERBS)}")
    if args.get("upload") is not None:
        from styx.server.uploads import UploadNotFoundError, archive_path

        try:
            archive_path(user.name, args["upload"])
        except UploadNotFoundError as exc:
            raise NotFoundError(str(exc)) from None
    if not VERBS[verb]:
        return None
    name = args.get("cluster")
    if not isinstance(name, str) or not name:
        if verb == "launch" and name is None:
            return None
        raise StyxError("cluster: expected a cluster name")
    record = open_store().get_cluster(name)
    if record is None:
        if verb == "launch":
            return name
        raise NotFoundError(f"cluster '{name}' not found")
    if not visible(record.owner, user, bool(args.get("all_users"))):
        raise NotFoundError(f"cluster '{name}' not found")
    return name


async def run_verb(verb: str, args: dict[str, Any], user: User, printer: Printer) -> Any:
    """Run one verb through the core; return a JSON-ready result. The request's upload, if
    it names one, is unpacked for it and removed when it ends (whatever the outcome)."""
    if args.get("upload") is None:
        return await _run_verb(verb, args, user, printer)
    import asyncio

    from styx.server import uploads

    try:
        archive = await asyncio.to_thread(uploads.claim, user.name, args["upload"])
    except uploads.UploadNotFoundError as exc:
        raise NotFoundError(str(exc)) from None
    try:
        folder = await asyncio.to_thread(uploads.unpack, archive, uploads.limits())
        unpacked = UnpackedUpload(folder)
        return await _run_verb(verb, {**args, UNPACKED: unpacked}, user, printer)
    finally:
        await asyncio.to_thread(uploads.remove, archive)


async def _run_verb(verb: str, args: dict[str, Any], user: User, printer: Printer) -> Any:
    from styx import core
    from styx.server.verbs_extra import EXTRA_VERBS, run_extra_verb

    if verb in EXTRA_VERBS:
        return await run_extra_verb(verb, args, user, printer)
    cluster = args.get("cluster")
    if verb == "launch":
        from styx.core.lifecycle import LaunchOptions

        try:
            opts = LaunchOptions(**(args.get("options") or {}))
        except TypeError as exc:
            raise StyxError(f"options: expected fields of LaunchOptions ({exc})") from None
        task = _task(args)
        check_local_allowed(task)
        result = await core.launch(task, cluster, options=opts, printer=printer)
        return dataclasses.asdict(result)
    if verb == "exec":
        sync = bool(args.get("sync_workdir"))
        result = await core.exec(
            _task(args, read_files=sync),
            cluster,
            detach_run=bool(args.get("detach_run")),
            sync_workdir=sync,
            printer=printer,
        )
        return dataclasses.asdict(result)
    if verb == "status":
        records = await core.status(bool(args.get("refresh")), args.get("clusters") or None)
        all_users = bool(args.get("all_users"))
        return [public_record(r) for r in records if visible(r.owner, user, all_users)]
    if verb == "queue":
        return [j.to_dict() for j in await core.queue(cluster)]
    if verb == "logs":
        job = await core.logs(cluster, args.get("job_id"), bool(args.get("follow", True)), printer)
        return job.to_dict()
    if verb == "cancel":
        result = await core.cancel(cluster, args.get("job_ids") or None, bool(args.get("all")))
        return list(result.cancelled)
    if verb in ("stop", "start", "down"):
        await getattr(core, verb)(cluster)
        return None
    if verb == "autostop":
        await core.autostop(cluster, args.get("idle_minutes"), bool(args.get("down")))
        return None
    raise StyxError(f"verb: unknown '{verb}'")
