"""What the CLI (and the SDK) do with managed jobs: submit, list, cancel, read logs.

Each call writes to or reads the state store and leaves the work to the controller, which it
starts when none runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from styx.errors import JobError, StyxError
from styx.jobs.daemon import ensure_controller
from styx.jobs.files import log_path, save_secrets
from styx.jobs.models import ManagedJob
from styx.jobs.store import JobStore
from styx.state.store import open_store
from styx.task import Task


def _store() -> JobStore:
    return JobStore(open_store())


def submit(
    stages: list[Task], pipeline: str | None = None, retry_until_up: bool = False
) -> list[int]:
    """Queue a task (one stage) or a pipeline's stages as managed jobs; their ids, in order.

    Every stage is checked before any is queued: a bad stage refuses the whole pipeline.
    """
    from styx.jobs.settings import jobs_settings

    jobs_settings()  # a config the controller would refuse is refused here, in one line
    for index, task in enumerate(stages):
        try:
            task.check_required_values()
            task.check_local_files()
        except StyxError as exc:
            if len(stages) == 1:
                raise
            raise type(exc)(f"pipeline stage {index + 1}: {exc}") from None
    from styx.config import owner_id

    jobs = _store()
    owner = owner_id()  # the API user when a server runs this; clusters get theirs the same way
    ids: list[int] = []
    for index, task in enumerate(stages):
        staged = len(stages) > 1
        job_id = jobs.add(
            task.to_yaml(),
            name=task.name or (f"{pipeline or 'pipeline'}-{index + 1}" if staged else None),
            base_dir=task.base_dir,
            retry_until_up=retry_until_up,
            pipeline=pipeline if staged else None,
            pipeline_id=ids[0] if staged and ids else None,
            stage=index if staged else None,
            num_stages=len(stages) if staged else None,
            owner=owner,
        )
        save_secrets(job_id, task.secrets)
        ids.append(job_id)
    ensure_controller()
    return ids


def queue(include_all: bool = False, recent_finished: int = 20) -> list[ManagedJob]:
    """Unfinished jobs and the most recent finished ones (every job with ``include_all``)."""
    jobs = _store()
    ensure_controller_if_needed(jobs)
    everything = jobs.list()
    return everything if include_all else recent(everything, recent_finished)


def recent(jobs: list[ManagedJob], recent_finished: int = 20) -> list[ManagedJob]:
    """The unfinished jobs and the ``recent_finished`` most recently finished, in order."""
    finished = [j for j in jobs if j.status.final][-recent_finished:]
    keep = {j.job_id for j in finished}
    return [j for j in jobs if not j.status.final or j.job_id in keep]


def ensure_controller_if_needed(jobs: JobStore) -> None:
    """A controller killed with jobs unfinished is started again by any `styx jobs` command."""
    if jobs.active():
        ensure_controller()


def get(job_id: int) -> ManagedJob:
    job = _store().get(job_id)
    if job is None:
        raise JobError(f"no managed job {job_id}", job_id=job_id)
    return job


def cancel(job_ids: list[int], all_jobs: bool = False) -> tuple[list[int], list[int]]:
    """Ask the controller to cancel; (marked, already finished). JobError for unknown ids."""
    jobs = _store()
    if all_jobs:
        job_ids = [j.job_id for j in jobs.active()]
    unknown = [j for j in job_ids if jobs.get(j) is None]
    if unknown:
        raise JobError(f"no managed job {', '.join(map(str, unknown))}", job_id=unknown[0])
    marked = jobs.request_cancel(job_ids)
    if marked:
        ensure_controller()
    return marked, [j for j in job_ids if j not in marked]


def wait_for(job_ids: list[int], timeout_s: float | None = None) -> list[ManagedJob]:
    """Block until every job is final (polling the store); their records."""
    jobs = _store()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        records = [jobs.get(j) for j in job_ids]
        if all(r is not None and r.status.final for r in records):
            return [r for r in records if r is not None]
        if deadline is not None and time.monotonic() > deadline:
            raise JobError(f"managed jobs {job_ids} did not finish in {timeout_s}s")
        time.sleep(0.5)


def stream_log(
    job_id: int, follow: bool, on_output: Callable[[str], None], poll_s: float = 0.3
) -> ManagedJob:
    """Copy the job's log (the client's copy, fed by the controller from every cluster it ran
    on) to ``on_output``; with ``follow``, until the job is final. Returns its record."""
    jobs = _store()
    job = jobs.get(job_id)
    if job is None:
        raise JobError(f"no managed job {job_id}", job_id=job_id)
    if follow:
        ensure_controller_if_needed(jobs)
    path = log_path(job_id)
    offset = 0
    checked = time.monotonic()
    while True:
        final = job.status.final  # read before the file: the last lines are in when it is final
        if path.exists():
            with open(path, encoding="utf-8", errors="replace") as f:
                f.seek(offset)
                chunk = f.read()
                offset = f.tell()
            if chunk:
                on_output(chunk)
        if final or not follow:
            return job
        time.sleep(poll_s)
        job = jobs.get(job_id) or job
        if time.monotonic() - checked > 5.0:
            checked = time.monotonic()
            ensure_controller_if_needed(jobs)  # a controller that died meanwhile comes back
