"""The managed-jobs controller: one asyncio task per job, bounded launches and running jobs.

It reads its work from the state store (jobs submitted by any `styx jobs launch`, cancel
requests) with one cheap query per tick, so the CLI never talks to it directly, and a new
controller adopts every unfinished job where the old one left it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from styx.jobs.models import ManagedJob, ManagedJobStatus
from styx.jobs.runner import JobRunner
from styx.jobs.settings import JobsSettings
from styx.jobs.store import JobStore

TICK_S = 0.5  # how often the store is read for new jobs and cancel requests


class Controller:
    def __init__(self, jobs: JobStore, settings: JobsSettings) -> None:
        self.jobs = jobs
        self.settings = settings
        self.launch_slots = asyncio.Semaphore(settings.max_concurrent_launches)
        self.runners: dict[int, tuple[JobRunner, asyncio.Task[None]]] = {}

    async def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Run until ``stop()`` or until no job is left for ``idle_exit_s``."""
        idle_since = time.monotonic()
        try:
            while not stop():
                active = self.tick()
                if active or self.runners:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since >= self.settings.idle_exit_s:
                    return
                await asyncio.sleep(min(TICK_S, self.settings.watch_interval_s))
        finally:
            await self.shutdown()

    def tick(self) -> int:
        """Start runners for jobs that may start, pass cancel requests; returns active jobs."""
        for job_id, (_, task) in list(self.runners.items()):
            if task.done():
                del self.runners[job_id]
        active = self.jobs.active()
        by_id = {j.job_id: j for j in active}
        for job in active:
            entry = self.runners.get(job.job_id)
            if entry is not None:
                if job.cancel_requested:
                    entry[0].cancel_requested.set()
                continue
            if len(self.runners) >= self.settings.max_running_jobs:
                continue
            if job.cancel_requested and job.status is ManagedJobStatus.PENDING:
                self._end(job.job_id, "cancelled by the user")
                continue
            blocked = self._stage_blocked(job, by_id)
            if blocked is not None:
                if blocked:
                    self._end(job.job_id, blocked)
                continue
            runner = JobRunner(self.jobs, job.job_id, self.settings, self.launch_slots)
            if job.cancel_requested:
                runner.cancel_requested.set()
            self.runners[job.job_id] = (runner, asyncio.create_task(runner.run()))
        return len(active)

    def _end(self, job_id: int, reason: str) -> None:
        """CANCELLED before it ever started (no cluster to take back)."""
        from styx.jobs.files import forget_files, forget_secrets

        self.jobs.finish(job_id, ManagedJobStatus.CANCELLED, reason)
        job = self.jobs.get(job_id)
        if job is not None:
            forget_files(job, self.jobs.active())
        else:
            forget_secrets(job_id)

    def _stage_blocked(self, job: ManagedJob, active: dict[int, ManagedJob]) -> str | None:
        """For a pipeline stage: None when it may start, "" while the previous stage runs, and
        the reason when the previous stage did not succeed (the pipeline stops there)."""
        if job.pipeline_id is None or not job.stage:
            return None
        previous = next(
            (s for s in self.jobs.stages(job.pipeline_id) if s.stage == job.stage - 1), None
        )
        if previous is None or previous.status is ManagedJobStatus.SUCCEEDED:
            return None
        if previous.job_id in active or not previous.status.final:
            return ""
        return f"stage {job.stage} (job {previous.job_id}) ended {previous.status.value}"

    async def shutdown(self) -> None:
        tasks = [t for _, t in self.runners.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.runners.clear()
