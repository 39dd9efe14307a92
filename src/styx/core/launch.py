"""Running a task: ``launch`` (provision or reuse, sync, setup, run) and ``exec``."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, replace

from styx.agent.protocol import JobInfo
from styx.core.clusters import connected
from styx.core.lifecycle import LaunchOptions, provision_cluster, start_instances, terminate_cluster
from styx.core.printer import Printer
from styx.errors import ClusterError, JobError
from styx.execution.backend import ClusterBackend
from styx.spec import check_cluster_name
from styx.state.store import ClusterRecord, ClusterStatus, JobRecord, StateStore, open_store
from styx.task import Task


@dataclass
class LaunchResult:
    cluster_name: str
    job_id: int | None
    status: str | None  # the job's final status; None when detached or a dry run
    exit_code: int | None


def default_cluster_name() -> str:
    return f"styx-{uuid.uuid4().hex[:6]}"


def _setup_hash(task: Task) -> str | None:
    if not task.setup:
        return None
    material = task.setup + "\0" + repr(sorted(task.envs.items()))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _num_gpus(task: Task, record: ClusterRecord) -> int:
    acc = task.resources.accelerator
    return acc[1] if acc else int(record.resources.get("accelerator_count") or 0)


def _autostop_minutes(task: Task, opts: LaunchOptions) -> tuple[float | None, bool]:
    autostop = task.resources.autostop
    minutes = opts.idle_minutes
    if minutes is None and autostop is not None:
        minutes = autostop.idle_minutes
    if opts.down and minutes is None:
        minutes = 0.0  # `launch --down`: tear down as soon as the job is done
    return minutes, opts.down or bool(autostop and autostop.down)


async def launch(
    task: Task,
    cluster_name: str | None = None,
    *,
    options: LaunchOptions | None = None,
    printer: Printer | None = None,
) -> LaunchResult:
    """Provision (or reuse) ``cluster_name``, sync files, run setup and the job.

    Waits while the job runs and streams its output unless ``options.detach_run``. A launch
    that fails after it made new instances terminates them unless ``keep_on_failure``.
    """
    name = check_cluster_name(cluster_name or default_cluster_name())
    task.check_required_values()  # envs: {HF_TOKEN: } needs a value passed at launch
    task.check_local_files()
    opts = options or LaunchOptions()
    printer = printer or Printer()
    progress = printer.progress
    if task.storage_mounts:  # a missing or forbidden bucket fails before anything is made
        from styx.storage.mounts import check_before_provisioning

        await check_before_provisioning(task)
    store = open_store()
    with store.cluster_lock(name):
        record = store.get_cluster(name)
        if record is not None and record.status is ClusterStatus.INIT and not store.instances(name):
            # An earlier launch died before saving its nodes: take back whatever it started.
            progress(f"cleaning up an interrupted launch of '{name}'")
            await terminate_cluster(store, record)
            record = None
        fresh = record is None
        if record is None:
            record = await provision_cluster(store, task, name, opts, progress)
        else:
            _check_reuse(record, task)
            if record.status is ClusterStatus.STOPPED:
                progress(f"starting stopped cluster '{name}'")
                await start_instances(store, record, progress)
            progress(f"reusing cluster '{name}' ({record.provider})")
        try:
            backend = await ClusterBackend.connect(record, store.instances(name))
        except BaseException:
            if fresh:
                await _undo_fresh(store, record, opts, printer)
            raise
        try:
            job_id = await _prepare_and_submit(store, backend, record, task, opts, fresh, printer)
        except BaseException:
            await backend.close()
            if fresh:
                await _undo_fresh(store, record, opts, printer)
            raise
    try:
        from styx.execution.ssh.config_entries import publish

        # `ssh <cluster>` from the user's shell; outside the lock, as it may ask a question.
        publish(name, backend.access, printer.progress)
        if opts.detach_run:
            return LaunchResult(name, job_id, None, None)
        job = await backend.follow(job_id, printer.output)
        return _finished(store, name, job, printer)
    finally:
        await backend.close()


def _check_reuse(record: ClusterRecord, task: Task) -> None:
    if record.num_nodes != task.num_nodes:
        raise ClusterError(
            f"cluster '{record.name}' has {record.num_nodes} node(s) but the task asks for "
            f"{task.num_nodes}; use another cluster name or `styx down {record.name}` first",
            cluster=record.name,
        )
    from styx.container.reuse import check_same_image

    check_same_image(record, task)


async def _prepare_and_submit(
    store: StateStore,
    backend: ClusterBackend,
    record: ClusterRecord,
    task: Task,
    opts: LaunchOptions,
    fresh: bool,
    printer: Printer,
) -> int:
    """Runtime, files, the job, then autostop; returns the job's id."""
    name = record.name
    if fresh or record.status is not ClusterStatus.UP:
        await backend.setup_runtime()
    await backend.sync_files(task)
    if task.storage_mounts:  # buckets: created/uploaded, then copied or mounted before setup
        from styx.storage.mounts import mount_on_nodes, prepare_buckets

        task = await prepare_buckets(store, task, record, printer.progress)
        await mount_on_nodes(store, name, record.provider, backend.nodes, task)
    await backend.setup_containers(task)
    setup_hash = _setup_hash(task)
    run_setup = bool(task.setup) and not opts.no_setup and setup_hash != record.setup_hash
    minutes, want_down = _autostop_minutes(task, opts)
    if minutes is not None or task.resources.max_total_cost is not None:
        from styx.cost.caps import prepare_head

        await prepare_head(store, backend, printer.progress)
    if task.resources.max_total_cost is not None:
        from styx.cost.caps import send_cap

        await send_cap(store, backend, name, task.resources.max_total_cost, want_down)
    store.set_cluster_status(name, ClusterStatus.UP)
    spec = backend.job_spec(task, run_setup, _num_gpus(task, record))
    if opts.task_id:
        spec = replace(spec, task_id=opts.task_id)
    job_id = await backend.submit(spec)
    if minutes is not None:
        # After the submit: a queued job keeps the cluster busy, so a short idle time cannot
        # stop the cluster between setting autostop and handing it its job.
        await backend.set_autostop(minutes, want_down)
        store.set_autostop(name, minutes, want_down)
    if run_setup:
        store.set_setup_hash(name, setup_hash)
    store.save_jobs([JobRecord(name, job_id, task.name, "PENDING")])
    printer.progress(f"job {job_id} submitted to cluster '{name}'")
    return job_id


async def _undo_fresh(
    store: StateStore, record: ClusterRecord, opts: LaunchOptions, printer: Printer
) -> None:
    """A new cluster whose launch failed before its job was in: terminate what was made."""
    if opts.keep_on_failure:
        printer.progress(f"launch failed; keeping cluster '{record.name}' (--keep-on-failure)")
        return
    printer.progress(f"launch failed; terminating the new cluster '{record.name}'")
    try:
        # Shielded: an interrupted launch still finishes its own clean-up.
        await asyncio.shield(terminate_cluster(store, record))
    except Exception as exc:  # noqa: BLE001 - the launch's own error is the one to report
        printer.progress(f"could not terminate '{record.name}': {exc}; run `styx down`")


def _finished(store: StateStore, name: str, job: JobInfo, printer: Printer) -> LaunchResult:
    """Record a finished job; JobError (with the job's exit code) unless it succeeded."""
    store.save_jobs([JobRecord.from_agent(name, job.to_dict())])
    detail = f": {job.message}" if job.message else ""
    printer.progress(f"job {job.job_id} {job.status}{detail}")
    if not job.succeeded:
        code = job.exit_code
        rc = code if isinstance(code, int) and code > 0 else 1
        raise JobError(
            f"job {job.job_id} on cluster '{name}' {job.status}{detail}",
            cluster=name,
            job_id=job.job_id,
            returncode=rc,
        )
    return LaunchResult(name, job.job_id, job.status, job.exit_code)


async def exec(
    task: Task,
    cluster_name: str,
    *,
    detach_run: bool = False,
    sync_workdir: bool = False,
    printer: Printer | None = None,
) -> LaunchResult:
    """Run ``task`` on an up cluster: no provisioning, no setup, no re-sync unless asked."""
    task.check_required_values()  # before connecting: the job could not run without them
    printer = printer or Printer()
    store = open_store()
    async with connected(store, cluster_name) as backend:
        if sync_workdir:
            await backend.sync_files(task)
        spec = backend.job_spec(task, False, _num_gpus(task, backend.record))
        if detach_run:
            job_id = await backend.submit(spec)
            store.save_jobs([JobRecord(cluster_name, job_id, task.name, "PENDING")])
            printer.progress(f"job {job_id} submitted to cluster '{cluster_name}'")
            return LaunchResult(cluster_name, job_id, None, None)
        # Submit and stream in one round trip: exec on an up cluster is the latency users feel.
        job = await backend.run_and_follow(spec, printer.output)
        return _finished(store, cluster_name, job, printer)
