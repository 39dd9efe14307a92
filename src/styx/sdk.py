"""The Python SDK: launch, exec, status, stop, start, down, queue, logs, cancel, autostop.

Each function is synchronous for the caller: one ``asyncio.run`` around the same call of the
async core (:mod:`styx.core`), which async code should call directly. The CLI stands on these.
With an API server configured (``STYX_API_SERVER`` or ``styx api login``), each is sent to the
server instead (:mod:`styx.client.sdk_remote`), which runs the same core call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from styx import core
from styx.client.sdk_remote import remote_sdk
from styx.core.launch import LaunchResult
from styx.core.lifecycle import LaunchOptions
from styx.core.printer import Output, Printer, print_progress, write_stdout
from styx.state.store import ClusterRecord
from styx.task import Task

__all__ = [
    "LaunchOptions",
    "LaunchResult",
    "autostop",
    "cancel",
    "down",
    "exec",
    "launch",
    "logs",
    "print_progress",
    "queue",
    "start",
    "status",
    "stop",
]


def launch(
    task: Task,
    cluster_name: str | None = None,
    *,
    output: Output = write_stdout,
    progress: Output = print_progress,
    **options: Any,
) -> LaunchResult:
    """Provision (or reuse) ``cluster_name``, sync files, run setup and the job.

    Blocks while the job runs and streams its output unless ``detach_run``. ``options`` are the
    fields of :class:`LaunchOptions`.
    """
    opts = LaunchOptions(**options)
    printer = Printer(output, progress)
    if remote := remote_sdk():
        return remote.launch(task, cluster_name, opts, printer)
    return asyncio.run(core.launch(task, cluster_name, options=opts, printer=printer))


def exec(
    task: Task,
    cluster_name: str,
    *,
    detach_run: bool = False,
    sync_workdir: bool = False,
    output: Output = write_stdout,
    progress: Output = print_progress,
) -> LaunchResult:
    """Run ``task`` on an up cluster: no provisioning, no setup, no re-sync unless asked."""
    printer = Printer(output, progress)
    if remote := remote_sdk():
        return remote.exec(task, cluster_name, detach_run, printer, sync_workdir)
    return asyncio.run(
        core.exec(
            task, cluster_name, detach_run=detach_run, sync_workdir=sync_workdir, printer=printer
        )
    )


def status(refresh: bool = False, cluster_names: list[str] | None = None) -> list[ClusterRecord]:
    if remote := remote_sdk():
        return remote.status(refresh, cluster_names)
    return asyncio.run(core.status(refresh, cluster_names))


def start(cluster_name: str) -> None:
    if remote := remote_sdk():
        remote.cluster_verb("start", cluster_name)
        return
    asyncio.run(core.start(cluster_name))


def stop(cluster_name: str) -> None:
    if remote := remote_sdk():
        remote.cluster_verb("stop", cluster_name)
        return
    asyncio.run(core.stop(cluster_name))


def down(cluster_name: str) -> None:
    """Terminate every instance of the cluster (and any launch intent left by a crash)."""
    if remote := remote_sdk():
        remote.cluster_verb("down", cluster_name)
        return
    asyncio.run(core.down(cluster_name))


def queue(cluster_name: str) -> list[dict[str, Any]]:
    """The head's job queue, one JSON-ready dict per job (:class:`~styx.agent.protocol.JobInfo`)."""
    if remote := remote_sdk():
        return list(remote.cluster_verb("queue", cluster_name))
    return [j.to_dict() for j in asyncio.run(core.queue(cluster_name))]


def logs(
    cluster_name: str, job_id: int | None = None, follow: bool = True, output: Output = write_stdout
) -> dict[str, Any]:
    """Copy a job's log to ``output``; return the job's record as a dict."""
    printer = Printer(output, print_progress)
    if remote := remote_sdk():
        return dict(remote.logs(cluster_name, job_id, follow, printer))
    return asyncio.run(core.logs(cluster_name, job_id, follow, printer)).to_dict()


def cancel(
    cluster_name: str, job_ids: list[int] | None = None, all_jobs: bool = False
) -> list[int]:
    """Cancel jobs; return the ids cancelled (finished jobs are left as they are)."""
    if remote := remote_sdk():
        return list(remote.cluster_verb("cancel", cluster_name, job_ids=job_ids, all=all_jobs))
    return list(asyncio.run(core.cancel(cluster_name, job_ids, all_jobs)).cancelled)


def autostop(cluster_name: str, idle_minutes: float | None, down: bool = False) -> None:
    """Set (or with ``idle_minutes=None`` cancel) autostop on an up cluster."""
    if remote := remote_sdk():
        remote.cluster_verb("autostop", cluster_name, idle_minutes=idle_minutes, down=down)
        return
    asyncio.run(core.autostop(cluster_name, idle_minutes, down))
