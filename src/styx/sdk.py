"""The Python SDK: launch, exec, status, stop, start, down, queue, logs, cancel, autostop.

The CLI is a thin layer over these functions. Each is synchronous for the caller and runs the
async core inside.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from styx.errors import ClusterError, ClusterNotFoundError, JobError, StyxError
from styx.execution.backend import ClusterBackend
from styx.placement import plan_offers, provider_factory
from styx.providers.base import ProvisionRequest
from styx.providers.instance import TAG_OWNER, InstanceState
from styx.scheduler import BlockList, Scheduler
from styx.spec import check_cluster_name
from styx.state.store import ClusterRecord, ClusterStatus, JobRecord, StateStore, open_store
from styx.task import Task

Output = Callable[[str], None]


def _stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def print_progress(text: str) -> None:
    """The default progress printer: one ``styx: ...`` line on stderr per step."""
    sys.stderr.write(f"styx: {text}\n")
    sys.stderr.flush()


@dataclass
class LaunchResult:
    cluster_name: str
    job_id: int | None
    status: str | None  # the job's final status; None when detached or a dry run
    exit_code: int | None


def _default_cluster_name() -> str:
    import uuid

    return f"styx-{uuid.uuid4().hex[:6]}"


def _setup_hash(task: Task) -> str | None:
    if not task.setup:
        return None
    material = task.setup + "\0" + repr(sorted(task.envs.items()))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _num_gpus(task: Task, instance_gpus: int) -> int:
    acc = task.resources.accelerator
    return acc[1] if acc else instance_gpus


# ---- launch ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchOptions:
    detach_run: bool = False
    idle_minutes: float | None = None
    down: bool = False  # with autostop: tear down; alone: tear down once the job is done
    retry_until_up: bool = False
    no_setup: bool = False
    no_block_list: bool = False
    keep_on_failure: bool = False  # keep instances of a failed or interrupted launch


def launch(
    task: Task,
    cluster_name: str | None = None,
    *,
    output: Output = _stdout,
    progress: Output = print_progress,
    **options: Any,
) -> LaunchResult:
    """Provision (or reuse) ``cluster_name``, sync files, run setup and the job.

    Blocks while the job runs and streams its output unless ``detach_run``. ``options`` are the
    fields of :class:`LaunchOptions`.
    """
    name = check_cluster_name(cluster_name or _default_cluster_name())
    task.check_local_files()
    opts = LaunchOptions(**options)
    return asyncio.run(_launch(task, name, opts, output, progress))


def _autostop_minutes(task: Task, opts: LaunchOptions) -> tuple[float | None, bool]:
    autostop = task.resources.autostop
    minutes = opts.idle_minutes
    if minutes is None and autostop is not None:
        minutes = autostop.idle_minutes
    if opts.down and minutes is None:
        minutes = 0.0  # `launch --down`: tear down as soon as the job is done
    return minutes, opts.down or bool(autostop and autostop.down)


async def _launch(
    task: Task, name: str, opts: LaunchOptions, output: Output, progress: Output
) -> LaunchResult:
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
            record = await _provision_cluster(store, task, name, opts, progress)
        else:
            if record.num_nodes != task.num_nodes:
                raise ClusterError(
                    f"cluster '{name}' has {record.num_nodes} node(s) but the task asks for "
                    f"{task.num_nodes}; use another cluster name or `styx down {name}` first",
                    cluster=name,
                )
            if record.status is ClusterStatus.STOPPED:
                progress(f"starting stopped cluster '{name}'")
                await _start_instances(store, record)
            progress(f"reusing cluster '{name}' ({record.provider})")
        backend = await ClusterBackend.connect(record, store.instances(name))
        try:
            if fresh or record.status is not ClusterStatus.UP:
                await backend.setup_runtime()
            await backend.sync_files(task)
            setup_hash = _setup_hash(task)
            run_setup = bool(task.setup) and not opts.no_setup and setup_hash != record.setup_hash
            minutes, want_down = _autostop_minutes(task, opts)
            if minutes is not None:
                await backend.set_autostop(minutes, want_down)
                store.set_autostop(name, minutes, want_down)
            store.set_cluster_status(name, ClusterStatus.UP)
            spec = backend.job_spec(task, run_setup, _num_gpus(task, _instance_gpus(record)))
            job_id = await backend.submit(spec)
            if run_setup:
                store.set_setup_hash(name, setup_hash)
            store.save_jobs([JobRecord(name, job_id, task.name, "PENDING")])
            progress(f"job {job_id} submitted to cluster '{name}'")
        except BaseException:
            await backend.close()
            raise
    try:
        if opts.detach_run:
            return LaunchResult(name, job_id, None, None)
        return await _follow(store, backend, name, job_id, output, progress)
    finally:
        await backend.close()


def _instance_gpus(record: ClusterRecord) -> int:
    return int(record.resources.get("accelerator_count") or 0)


async def _provision_cluster(
    store: StateStore, task: Task, name: str, opts: LaunchOptions, progress: Output
) -> ClusterRecord:
    from styx.config import owner_id
    from styx.keys import ensure_ssh_key

    blocks = BlockList(store, ignore=opts.no_block_list)
    offers = await plan_offers(task, is_blocked=blocks.offer_blocked)
    for cloud in sorted({o.cloud for o in offers}):
        task.check_mount_targets(cloud)  # before anything is recorded or created
    best = offers[0]
    record = ClusterRecord(
        name=name,
        provider=best.cloud,
        status=ClusterStatus.INIT,
        num_nodes=task.num_nodes,
        region=best.region,
        instance_type=best.instance_type,
        use_spot=best.use_spot,
        task_yaml=task.to_yaml(),
        owner=owner_id(),
    )
    store.upsert_cluster(record)  # before any cloud call: a crash leaves a name to clean up
    _, public_key = ensure_ssh_key() if best.cloud != "local" else (None, None)
    image = task.resources.image_id if isinstance(task.resources.image_id, str) else None
    template = ProvisionRequest(
        cluster_name=name,
        instance_type=best.instance_type,
        image_id=image,
        disk_size_gb=task.resources.disk_size,
        ports=task.resources.ports,
        tags={TAG_OWNER: owner_id(), **task.resources.labels},
        ssh_public_key=public_key,
    )
    scheduler = Scheduler(
        store,
        provider_factory(),
        block_list=blocks,
        progress=progress,
        keep_on_failure=opts.keep_on_failure,
    )
    attempt = 0
    while True:
        try:
            outcome = await scheduler.provision(offers, name, template, task.num_nodes)
            break
        except (asyncio.CancelledError, KeyboardInterrupt):
            if not store.intents(name):  # interrupted and cleaned up: nothing to remember
                store.remove_cluster(name)
            raise
        except StyxError:
            if not opts.retry_until_up:
                if not store.intents(name):
                    store.remove_cluster(name)
                raise
            attempt += 1
            delay = min(300.0, 5.0 * 2 ** min(attempt, 6))
            progress(f"no capacity anywhere yet; retrying in {delay:.0f}s (Ctrl-C to give up)")
            await asyncio.sleep(delay)
            offers = await plan_offers(task, is_blocked=blocks.offer_blocked) or offers
    offer = outcome.offer
    store.save_instances(outcome.instances)
    record = replace(
        record,
        provider=offer.cloud,
        region=offer.region,
        zone=outcome.zone,
        instance_type=offer.instance_type,
        use_spot=offer.use_spot,
        hourly_price=offer.total_hourly_price,
        resources={
            "vcpus": offer.vcpus,
            "memory_gib": offer.memory_gib,
            "accelerator_name": offer.accelerator_name,
            "accelerator_count": offer.accelerator_count,
        },
    )
    store.upsert_cluster(record)
    where = f"{offer.cloud}/{offer.region or '-'}/{outcome.zone or '-'}"
    store.add_event(name, "launched", f"{where} {offer.instance_type} x{task.num_nodes}")
    return record


async def _follow(
    store: StateStore,
    backend: ClusterBackend,
    name: str,
    job_id: int,
    output: Output,
    progress: Output,
) -> LaunchResult:
    return _finished(store, name, await backend.follow(job_id, output), progress)


def _finished(store: StateStore, name: str, job: dict[str, Any], progress: Output) -> LaunchResult:
    """Record a finished job; JobError (with the job's exit code) unless it succeeded."""
    job_id, status, code = int(job["job_id"]), job["status"], job.get("exit_code")
    store.save_jobs([JobRecord.from_agent(name, job)])
    detail = f": {job['message']}" if job.get("message") else ""
    progress(f"job {job_id} {status}{detail}")
    if status != "SUCCEEDED":
        rc = code if isinstance(code, int) and code > 0 else 1
        raise JobError(
            f"job {job_id} on cluster '{name}' {status}{detail}",
            cluster=name,
            job_id=job_id,
            returncode=rc,
        )
    return LaunchResult(name, job_id, status, code)


# ---- exec ------------------------------------------------------------------------------------


def exec(
    task: Task,
    cluster_name: str,
    *,
    detach_run: bool = False,
    sync_workdir: bool = False,
    output: Output = _stdout,
    progress: Output = print_progress,
) -> LaunchResult:
    """Run ``task`` on an up cluster: no provisioning, no setup, no re-sync unless asked."""
    return asyncio.run(_exec(task, cluster_name, detach_run, sync_workdir, output, progress))


async def _exec(
    task: Task,
    name: str,
    detach_run: bool,
    sync_workdir: bool,
    output: Output,
    progress: Output,
) -> LaunchResult:
    store = open_store()
    record = _require_up(store, name)
    backend = await ClusterBackend.connect(record, store.instances(name))
    try:
        if sync_workdir:
            await backend.sync_files(task)
        spec = backend.job_spec(task, False, _num_gpus(task, _instance_gpus(record)))
        if detach_run:
            job_id = await backend.submit(spec)
            store.save_jobs([JobRecord(name, job_id, task.name, "PENDING")])
            progress(f"job {job_id} submitted to cluster '{name}'")
            return LaunchResult(name, job_id, None, None)
        # Submit and stream in one round trip: exec on an up cluster is the latency users feel.
        job = await backend.run_and_follow(spec, output)
        return _finished(store, name, job, progress)
    finally:
        await backend.close()


# ---- cluster lookups -------------------------------------------------------------------------


def _require(store: StateStore, name: str) -> ClusterRecord:
    check_cluster_name(name)
    record = store.get_cluster(name)
    if record is None:
        names = [c.name for c in store.list_clusters()]
        from styx.spec import did_you_mean

        raise ClusterNotFoundError(
            f"cluster '{name}' does not exist{did_you_mean(name, names)}", cluster=name
        )
    return record


def _require_up(store: StateStore, name: str) -> ClusterRecord:
    record = _require(store, name)
    if record.status is not ClusterStatus.UP:
        raise ClusterError(
            f"cluster '{name}' is {record.status.value}, not UP"
            + (f"; run `styx start {name}`" if record.status is ClusterStatus.STOPPED else ""),
            cluster=name,
        )
    return record


def _backend_call(name: str, fn: Callable[[ClusterBackend], Any]) -> Any:
    async def go() -> Any:
        store = open_store()
        record = _require_up(store, name)
        backend = await ClusterBackend.connect(record, store.instances(name))
        try:
            return await fn(backend)
        finally:
            await backend.close()

    return asyncio.run(go())


def queue(cluster_name: str) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = _backend_call(cluster_name, lambda b: b.queue())
    store = open_store()
    store.save_jobs([JobRecord.from_agent(cluster_name, j) for j in jobs])
    return jobs


def logs(
    cluster_name: str, job_id: int | None = None, follow: bool = True, output: Output = _stdout
) -> dict[str, Any] | None:
    async def go(backend: ClusterBackend) -> dict[str, Any] | None:
        await backend.stream_logs(job_id, follow=follow, on_output=output)
        return await backend.job(job_id)

    result: dict[str, Any] | None = _backend_call(cluster_name, go)
    return result


def cancel(
    cluster_name: str, job_ids: list[int] | None = None, all_jobs: bool = False
) -> list[int]:
    if not job_ids and not all_jobs:
        raise StyxError("cancel: give job ids or --all")
    result: list[int] = _backend_call(cluster_name, lambda b: b.cancel(job_ids or [], all_jobs))
    return result


def autostop(cluster_name: str, idle_minutes: float | None, down: bool = False) -> None:
    """Set (or with ``idle_minutes=None`` cancel) autostop on an up cluster."""
    _backend_call(cluster_name, lambda b: b.set_autostop(idle_minutes, down))
    open_store().set_autostop(cluster_name, idle_minutes, down)


# ---- lifecycle -------------------------------------------------------------------------------


def status(refresh: bool = False, cluster_names: list[str] | None = None) -> list[ClusterRecord]:
    store = open_store()
    records = store.list_clusters()
    if cluster_names:
        wanted = set(cluster_names)
        records = [r for r in records if r.name in wanted]
    if refresh:
        from styx.placement import cached_enabled_clouds
        from styx.reconcile import refresh_clusters

        scan = set(cached_enabled_clouds()) | {r.provider for r in store.list_clusters()}
        records = asyncio.run(refresh_clusters(store, records, scan if not cluster_names else None))
    return records


async def _start_instances(store: StateStore, record: ClusterRecord) -> None:
    provider = provider_factory()(record.provider)
    instances = store.instances(record.name)
    await asyncio.gather(*(provider.start(i.id) for i in instances))
    fresh = [await provider.get_instance(i.id) or i for i in instances]
    store.save_instances(fresh)
    store.set_cluster_status(record.name, ClusterStatus.UP)
    backend = await ClusterBackend.connect(record, fresh)
    try:
        await backend.setup_runtime()
    finally:
        await backend.close()
    store.add_event(record.name, "started", "cluster started")


def _under_lock(
    cluster_name: str, action: Callable[[StateStore, ClusterRecord], Awaitable[None]]
) -> None:
    """Run ``action`` on an existing cluster while holding its lock."""

    async def go() -> None:
        store = open_store()
        with store.cluster_lock(cluster_name):
            await action(store, _require(store, cluster_name))

    asyncio.run(go())


def start(cluster_name: str) -> None:
    async def action(store: StateStore, record: ClusterRecord) -> None:
        if record.status is not ClusterStatus.UP:
            await _start_instances(store, record)

    _under_lock(cluster_name, action)


def stop(cluster_name: str) -> None:
    async def action(store: StateStore, record: ClusterRecord) -> None:
        provider = provider_factory()(record.provider)
        if not provider.capabilities.stop_start:
            raise ClusterError(
                f"cluster '{cluster_name}': {record.provider} cannot stop instances; "
                "use `styx down` instead",
                cluster=cluster_name,
            )
        instances = store.instances(cluster_name)
        for inst in sorted(instances, key=lambda i: -i.node_rank):  # workers first, head last
            await provider.stop(inst.id)
        from styx.execution.ssh.master import stop_masters

        stop_masters({i.id for i in instances})  # a stopped VM's address may change hands
        store.save_instances([replace(i, state=InstanceState.STOPPED) for i in instances])
        store.set_cluster_status(cluster_name, ClusterStatus.STOPPED)
        store.add_event(cluster_name, "stopped", "cluster stopped")

    _under_lock(cluster_name, action)


def down(cluster_name: str) -> None:
    """Terminate every instance of the cluster (and any launch intent left by a crash)."""
    _under_lock(cluster_name, terminate_cluster)


async def terminate_cluster(store: StateStore, record: ClusterRecord) -> None:
    """Terminate everything of the cluster in every provider it touched, then forget it.

    The cloud is the truth: besides the saved instances and the launch intents (ids a crashed
    launch may have created), anything tagged with the cluster's name goes too.
    """
    by_provider: dict[str, set[str]] = {record.provider: set()}
    for inst in store.instances(record.name):
        by_provider.setdefault(inst.provider.value, set()).add(inst.id)
    for intent in store.intents(record.name):
        by_provider.setdefault(intent["provider"], set()).add(intent["instance_id"])
    factory = provider_factory()
    total = 0
    for name, ids in by_provider.items():
        provider = factory(name)
        for inst in await provider.list_instances():
            if inst.cluster_name == record.name and inst.state.is_alive:
                ids.add(inst.id)
        results = await asyncio.gather(
            *(provider.terminate(i) for i in ids), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        total += len(ids)
    from styx.execution.ssh.master import stop_masters

    stop_masters({i for ids in by_provider.values() for i in ids})  # the client's SSH masters
    store.remove_cluster(record.name)
    store.add_event(record.name, "down", f"terminated {total} instance(s)")
