"""Jobs on an up cluster: the queue, a job's log, cancelling, and the cluster's autostop."""

from __future__ import annotations

from styx.agent.protocol import CancelResult, JobInfo
from styx.core.clusters import connected
from styx.core.printer import Printer
from styx.errors import StyxError
from styx.state.store import JobRecord, open_store


async def queue(cluster_name: str) -> list[JobInfo]:
    """The head's job queue (also saved as the client's copy of the cluster's jobs)."""
    store = open_store()
    async with connected(store, cluster_name) as backend:
        jobs = await backend.queue()
    store.save_jobs([JobRecord.from_agent(cluster_name, j.to_dict()) for j in jobs])
    return jobs


async def logs(
    cluster_name: str,
    job_id: int | None = None,
    follow: bool = True,
    printer: Printer | None = None,
) -> JobInfo:
    """Copy a job's log (the latest job's without ``job_id``) to the printer's output, until the
    job ends with ``follow``; return the job's record. JobError when there is no such job."""
    printer = printer or Printer()
    async with connected(open_store(), cluster_name) as backend:
        await backend.stream_logs(job_id, follow=follow, on_output=printer.output)
        return await backend.job(job_id)


async def cancel(
    cluster_name: str, job_ids: list[int] | None = None, all_jobs: bool = False
) -> CancelResult:
    """Cancel the named jobs (or every unfinished one); JobError naming any id never seen."""
    if not job_ids and not all_jobs:
        raise StyxError("cancel: give job ids or --all")
    async with connected(open_store(), cluster_name) as backend:
        return await backend.cancel(job_ids or [], all_jobs)


async def autostop(cluster_name: str, idle_minutes: float | None, down: bool = False) -> None:
    """Set (or with ``idle_minutes=None`` cancel) autostop on an up cluster."""
    store = open_store()
    async with connected(store, cluster_name) as backend:
        if idle_minutes is not None:
            from styx.cost.caps import prepare_head

            await prepare_head(store, backend)
        await backend.set_autostop(idle_minutes, down)
    store.set_autostop(cluster_name, idle_minutes, down)
