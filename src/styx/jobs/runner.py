"""One managed job's life on the controller: launch, watch, recover, tear down.

A job is one coroutine. Its cluster is watched with one provider list call and (through the
log stream the controller keeps open to the head's agent) one agent call per watch interval;
the job's output is copied to the client as it arrives, so the log outlives every cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, replace

from styx.agent.protocol import JobInfo
from styx.core.launch import launch
from styx.core.lifecycle import LaunchOptions, terminate_cluster
from styx.core.printer import Printer
from styx.errors import CapacityError, ResourcesUnavailableError, Scope, StyxError
from styx.jobs.files import LogCopy, forget_files, forget_secrets, load_secrets
from styx.jobs.models import ManagedJob, ManagedJobStatus, RecoveryPolicy
from styx.jobs.recovery import Action, RelaunchPlan, loss_reason, on_job_end, relaunch_plan
from styx.jobs.settings import JobsSettings
from styx.jobs.store import JobStore
from styx.state.store import ClusterRecord, open_store
from styx.task import Task

AVOID_TTL_S = 600.0  # EAGER_NEXT_REGION: how long a preempted region is passed over
MAX_REFOLLOWS = 5  # dropped log streams in a row, head still listed, before it counts as lost


def cluster_name_for(job_id: int) -> str:
    return f"styx-job-{job_id}"


@dataclass(frozen=True)
class _Finished:
    job: JobInfo


@dataclass(frozen=True)
class _Lost:
    reason: str


class _Cancel:
    pass


class _Done(Exception):
    """The job reached a final status; raised out of the launch path."""


class JobRunner:
    def __init__(
        self,
        jobs: JobStore,
        job_id: int,
        settings: JobsSettings,
        launch_slots: asyncio.Semaphore,
    ) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.settings = settings
        self.launch_slots = launch_slots
        self.cancel_requested = asyncio.Event()
        self.cluster = cluster_name_for(job_id)
        self._log: LogCopy | None = None
        self._unknown_since: dict[str, float] = {}  # node id -> when it was first seen ERROR

    # ---- the whole life ----------------------------------------------------------------------

    async def run(self) -> None:
        from styx.config import REQUEST_OWNER

        # The job's clusters belong to whoever submitted it (set for this task only).
        job = self.jobs.get(self.job_id)
        if job is not None and job.owner is not None:
            REQUEST_OWNER.set(job.owner)
        self._log = LogCopy(self.job_id)
        try:
            await self._run()
        except _Done:
            pass
        except asyncio.CancelledError:
            raise  # the controller is shutting down: the next one adopts the job
        except Exception as exc:  # noqa: BLE001 - whatever broke, the job must end and be cleaned
            await self._teardown_quietly()
            self._finish(ManagedJobStatus.FAILED_CONTROLLER, f"controller error: {exc}")
        finally:
            self._log.close()

    async def _run(self) -> None:
        job = self._job()
        task = self._task(job)
        policy = RecoveryPolicy.from_resources(task.resources.job_recovery)
        plan = RelaunchPlan()
        need_launch = not await self._adopt(job)
        while True:
            if self.cancel_requested.is_set():
                await self._cancel()
            if need_launch:
                await self._launch(task, plan)
            outcome = await self._watch()
            job = self._job()
            if isinstance(outcome, _Cancel):
                await self._cancel()
            if isinstance(outcome, _Lost):
                # A lost node is never the user's fault: relaunch the whole gang elsewhere.
                self._note(f"recovering: {outcome.reason}")
                cloud, region = self._where()
                await self._teardown()
                plan = relaunch_plan(policy, cloud, region)
                self.jobs.update(
                    self.job_id,
                    status=ManagedJobStatus.RECOVERING,
                    recovery_count=job.recovery_count + 1,
                    agent_job_id=None,
                )
                need_launch = True
                continue
            assert isinstance(outcome, _Finished)
            decision = on_job_end(outcome.job, policy, job.restarts_on_errors)
            if decision.action is Action.FINISH:
                await self._teardown()
                assert decision.status is not None
                reason = (
                    decision.reason if decision.status is not ManagedJobStatus.SUCCEEDED else None
                )
                self._finish(decision.status, reason, decision.exit_code)
                return
            # A rerun of the user's code: the cluster is fine, submit again on it.
            self._note(f"restarting: {decision.reason}")
            self.jobs.update(
                self.job_id,
                status=ManagedJobStatus.RECOVERING,
                recovery_count=job.recovery_count + 1,
                restarts_on_errors=job.restarts_on_errors + int(decision.counts_as_error),
                agent_job_id=None,
            )
            plan = RelaunchPlan()
            need_launch = True

    # ---- adoption after a controller restart -------------------------------------------------

    async def _adopt(self, job: ManagedJob) -> bool:
        """True when the job's cluster is up and its job was submitted: watch it again.

        Anything else a dead controller left half-done (a launch, a recovery) is torn down and
        launched again; the job keeps its status and counts.
        """
        store = self.jobs.state
        record = store.get_cluster(self.cluster)
        submitted = job.status is ManagedJobStatus.RUNNING and job.agent_job_id is not None
        if submitted and record is not None and await self._lost_reason(record) is None:
            self._note("controller restarted: watching the running job again")
            return True
        if record is not None or store.intents(self.cluster):
            await self._teardown()
        if job.status is ManagedJobStatus.RUNNING:
            # Its cluster was lost while no controller watched: a recovery like any other.
            self._note("recovering: the job's cluster was lost while the controller was down")
            self.jobs.update(
                self.job_id,
                status=ManagedJobStatus.RECOVERING,
                recovery_count=job.recovery_count + 1,
                agent_job_id=None,
            )
        return False

    # ---- launching ---------------------------------------------------------------------------

    async def _launch(self, task: Task, plan: RelaunchPlan) -> None:
        errors = 0
        while True:
            async with self.launch_slots:
                if self.cancel_requested.is_set():
                    await self._cancel()
                job = self._job()
                if job.status is ManagedJobStatus.PENDING:
                    self.jobs.update(self.job_id, status=ManagedJobStatus.STARTING)
                try:
                    result = await self._launch_once(task, plan, job)
                except ResourcesUnavailableError as exc:
                    await self._teardown()
                    self._finish(ManagedJobStatus.FAILED_NO_RESOURCE, _history(exc))
                    raise _Done from None
                except StyxError as exc:
                    # A node lost during set-up, a connection dropped: clean up, try again.
                    errors += 1
                    self._note(f"launch failed ({errors}/{self.settings.max_launch_errors}): {exc}")
                    await self._teardown()
                    if errors >= self.settings.max_launch_errors:
                        self._finish(
                            ManagedJobStatus.FAILED_CONTROLLER,
                            f"launch failed {errors} times; last: {exc}",
                        )
                        raise _Done from None
                    continue
            record = self.jobs.state.get_cluster(self.cluster)
            infra = None
            if record is not None:
                infra = "/".join(p for p in (record.provider, record.region, record.zone) if p)
            self.jobs.update(
                self.job_id,
                status=ManagedJobStatus.RUNNING,
                cluster=self.cluster,
                infra=infra,
                agent_job_id=result,
                started_at=job.started_at or time.time(),
            )
            if self._log is not None:
                self._log.new_attempt()
            return

    async def _launch_once(self, task: Task, plan: RelaunchPlan, job: ManagedJob) -> int:
        opts = LaunchOptions(
            detach_run=True, retry_until_up=job.retry_until_up, task_id=job.task_id
        )
        printer = Printer(output=self._write, progress=lambda _m: None)
        branches = task.resources.any_of or task.resources.ordered
        if plan.pin is not None and not branches:
            cloud, region = plan.pin
            pinned = replace(
                task, resources=replace(task.resources, cloud=cloud, region=region, zone=None)
            )
            try:
                return await self._submit(pinned, opts, printer)
            except ResourcesUnavailableError:
                await self._teardown()  # FAILOVER: the same region had nothing; anywhere now
        if plan.avoid is not None:
            cloud, region = plan.avoid
            from styx.blocklist import BlockKey

            note = CapacityError(
                "a managed job's node was lost here", provider=cloud, region=region
            )
            self.jobs.state.block(BlockKey(cloud, Scope.REGION, region=region), note, AVOID_TTL_S)
            try:
                return await self._submit(task, opts, printer)
            except ResourcesUnavailableError:
                await self._teardown()  # no other region: the lost one is better than none
                opts = replace(opts, no_block_list=True)
        return await self._submit(task, opts, printer)

    async def _submit(self, task: Task, opts: LaunchOptions, printer: Printer) -> int:
        """Launch and submit; a cancel request interrupts the launch (which terminates what it
        made) instead of waiting for it, e.g. through a long --retry-until-up."""
        launching = asyncio.create_task(launch(task, self.cluster, options=opts, printer=printer))
        cancel_wait = asyncio.create_task(self.cancel_requested.wait())
        try:
            await asyncio.wait([launching, cancel_wait], return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancel_wait.cancel()
            if not launching.done():
                launching.cancel()
                with contextlib.suppress(BaseException):
                    await launching
        if not launching.done() or launching.cancelled():
            await self._cancel()
        result = launching.result()
        assert result.job_id is not None
        return result.job_id

    # ---- watching ----------------------------------------------------------------------------

    async def _watch(self) -> _Finished | _Lost | _Cancel:
        from styx.execution.backend import ClusterBackend

        store = self.jobs.state
        record = store.get_cluster(self.cluster)
        job = self._job()
        if record is None or job.agent_job_id is None:
            return _Lost("the job's cluster is gone from the state store")
        interval = self.settings.watch_interval_s
        cancel_wait = asyncio.create_task(self.cancel_requested.wait())
        backend: ClusterBackend | None = None
        follow: asyncio.Task[JobInfo] | None = None
        drops = 0
        try:
            while True:
                if follow is None:
                    try:
                        backend = await ClusterBackend.connect(
                            record, store.instances(self.cluster)
                        )
                        follow = asyncio.create_task(backend.follow(job.agent_job_id, self._write))
                    except StyxError as exc:
                        drops += 1
                        if drops > MAX_REFOLLOWS:
                            return _Lost(f"the head does not answer: {exc}")
                await asyncio.wait(
                    [t for t in (follow, cancel_wait) if t is not None], timeout=interval
                )
                if self.cancel_requested.is_set():
                    return _Cancel()
                lost = await self._lost_reason(record)
                if lost is not None:
                    return _Lost(lost)
                if follow is None or not follow.done():
                    continue
                if follow.exception() is None:
                    return _Finished(follow.result())
                # The stream dropped but every node is listed alive: follow the log again.
                drops += 1
                if drops > MAX_REFOLLOWS:
                    return _Lost(f"the head does not answer: {follow.exception()}")
                if backend is not None:
                    await backend.close()
                backend, follow = None, None
                if self._log is not None:
                    self._log.refollow()
        finally:
            cancel_wait.cancel()
            if follow is not None:
                follow.cancel()
                with contextlib.suppress(BaseException):
                    await follow
            if backend is not None:
                with contextlib.suppress(Exception):
                    await backend.close()

    async def _lost_reason(self, record: ClusterRecord) -> str | None:
        """Why the cluster can no longer run the job (a node gone, stopped, interrupted), or
        None. One list call to the provider; a provider that cannot answer now loses nothing."""
        from styx.placement import provider_factory

        saved = self.jobs.state.instances(record.name)
        if not saved:
            return "the cluster has no nodes"
        try:
            listed = await provider_factory()(record.provider).list_instances()
        except StyxError as exc:
            self._note(f"could not list {record.provider} instances: {exc}")
            return None
        current = {i.id: i for i in listed if i.cluster_name == record.name}
        return loss_reason(
            saved, current, self._unknown_since, time.monotonic(), self.settings.unreachable_grace_s
        )

    # ---- ending ------------------------------------------------------------------------------

    async def _cancel(self) -> None:
        self.jobs.update(self.job_id, status=ManagedJobStatus.CANCELLING)
        await self._teardown()
        self._finish(ManagedJobStatus.CANCELLED, "cancelled by the user")
        raise _Done

    async def _teardown(self) -> None:
        """Terminate whatever the job's cluster has (saved nodes, launch intents, tagged ones)."""
        store = open_store()  # its own connection: the cluster lock is owned per store
        try:
            record = store.get_cluster(self.cluster)
            if record is None:
                return
            with store.cluster_lock(self.cluster, wait_s=60):
                await asyncio.shield(terminate_cluster(store, record))
        finally:
            store.close()

    async def _teardown_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await self._teardown()

    def _finish(
        self, status: ManagedJobStatus, reason: str | None = None, exit_code: int | None = None
    ) -> None:
        self.jobs.finish(self.job_id, status, reason, exit_code)
        job = self.jobs.get(self.job_id)
        if job is not None:
            forget_files(job, self.jobs.active())
        else:
            forget_secrets(self.job_id)
        self._note(f"{status.value}" + (f": {reason}" if reason else ""))

    # ---- helpers -----------------------------------------------------------------------------

    def _job(self) -> ManagedJob:
        job = self.jobs.get(self.job_id)
        if job is None:
            raise _Done  # removed from the store under us
        return job

    def _task(self, job: ManagedJob) -> Task:
        task = Task.from_yaml(job.task_yaml, base_dir=job.base_dir)
        ids = {"SKYPILOT_MANAGED_JOB_ID": str(job.job_id), "STYX_MANAGED_JOB_ID": str(job.job_id)}
        return task.with_overrides(envs=ids, secrets=load_secrets(job.job_id))

    def _where(self) -> tuple[str | None, str | None]:
        record = self.jobs.state.get_cluster(self.cluster)
        return (record.provider, record.region) if record else (None, None)

    def _write(self, line: str) -> None:
        if self._log is not None:
            self._log.write(line)

    def _note(self, message: str) -> None:
        self.jobs.state.add_event(self.cluster, f"managed-job-{self.job_id}", message)


def _history(exc: ResourcesUnavailableError) -> str:
    """The failover history in one line, for failure_reason."""
    parts = [str(exc)]
    for a in exc.history[-10:]:
        where = "/".join(p for p in (a.provider, a.region, a.zone) if p)
        parts.append(f"{where} {a.instance_type}: {a.error_class}: {a.message}")
    return "; ".join(parts)[:2000]
