"""A cluster's life: provision, start, stop, tear down, and the status listing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from styx.core.clusters import require
from styx.core.printer import Output
from styx.errors import ClusterError, StyxError
from styx.execution.backend import ClusterBackend
from styx.placement import plan_offers, provider_factory
from styx.providers.abilities import StopStart
from styx.providers.base import ProvisionRequest
from styx.providers.instance import TAG_OWNER, InstanceState
from styx.retry import backoff_delay
from styx.scheduler import BlockList, Scheduler
from styx.state.store import ClusterRecord, ClusterStatus, StateStore, open_store
from styx.task import Task


@dataclass(frozen=True)
class LaunchOptions:
    detach_run: bool = False
    idle_minutes: float | None = None
    down: bool = False  # with autostop: tear down; alone: tear down once the job is done
    retry_until_up: bool = False
    no_setup: bool = False
    no_block_list: bool = False
    keep_on_failure: bool = False  # keep instances of a failed or interrupted launch
    task_id: str | None = None  # a managed job's: the same on every cluster it runs on


async def provision_cluster(
    store: StateStore, task: Task, name: str, opts: LaunchOptions, progress: Output
) -> ClusterRecord:
    """Place and provision a new cluster (failover across offers); save it as INIT.

    The caller holds the cluster's lock.
    """
    from styx.config import owner_id
    from styx.keys import ensure_ssh_key

    blocks = BlockList(store, ignore=opts.no_block_list)
    offers = await plan_offers(task, is_blocked=blocks.offer_blocked)
    for cloud in sorted({o.cloud for o in offers}):
        task.check_mount_targets(cloud)  # before anything is recorded or created
    best = offers[0]
    from styx.catalog.age import stale_hint

    hint = stale_hint([best.cloud])  # the price that chose this offer may be out of date
    if hint:
        progress(hint)
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
    from styx.providers.registry import entry

    _, public_key = ensure_ssh_key() if entry(best.cloud).uses_ssh_key else (None, None)
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
            # The one backoff rule (styx.retry), floored so a jitter near 0 never spins.
            delay = max(5.0, backoff_delay(attempt + 1, 5.0, 300.0))
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
            # The image the cluster runs (a docker: one is checked on reuse; styx.container).
            "image_id": task.resources.image_for(offer.region),
        },
    )
    store.upsert_cluster(record)
    where = f"{offer.cloud}/{offer.region or '-'}/{outcome.zone or '-'}"
    store.add_event(name, "launched", f"{where} {offer.instance_type} x{task.num_nodes}")
    return record


async def start_instances(
    store: StateStore, record: ClusterRecord, progress: Output | None = None
) -> None:
    """Start a stopped cluster's instances and its head's runtime; the caller holds its lock."""
    provider = provider_factory()(record.provider)
    instances = store.instances(record.name)
    await asyncio.gather(*(provider.start(i.id) for i in instances))
    fresh = [await provider.get_instance(i.id) or i for i in instances]
    store.save_instances(fresh)
    store.set_cluster_status(record.name, ClusterStatus.UP)
    backend = await ClusterBackend.connect(record, fresh)
    try:
        await backend.setup_runtime()
        from styx.execution.ssh.config_entries import publish

        publish(
            record.name, backend.access, progress or _quiet
        )  # a restarted VM's address may change
    finally:
        await backend.close()
    store.add_event(record.name, "started", "cluster started")


def _quiet(_message: str) -> None:
    pass


async def _under_lock(
    name: str, action: Callable[[StateStore, ClusterRecord], Awaitable[None]]
) -> None:
    """Run ``action`` on an existing cluster while holding its lock."""
    store = open_store()
    with store.cluster_lock(name):
        await action(store, require(store, name))


async def start(name: str) -> None:
    async def action(store: StateStore, record: ClusterRecord) -> None:
        if record.status is not ClusterStatus.UP:
            await start_instances(store, record)

    await _under_lock(name, action)


async def stop(name: str) -> None:
    async def action(store: StateStore, record: ClusterRecord) -> None:
        provider = provider_factory()(record.provider)
        if not isinstance(provider, StopStart):
            raise ClusterError(
                f"cluster '{name}': {record.provider} cannot stop instances; "
                "use `styx down` instead",
                cluster=name,
            )
        from styx.storage.mounts import unmount_cluster

        await unmount_cluster(store, record)  # uploads finish before the nodes stop
        instances = store.instances(name)
        for inst in sorted(instances, key=lambda i: -i.node_rank):  # workers first, head last
            await provider.stop(inst.id)
        from styx.execution.ssh.master import stop_masters

        stop_masters({i.id for i in instances})  # a stopped VM's address may change hands
        store.save_instances([replace(i, state=InstanceState.STOPPED) for i in instances])
        store.set_cluster_status(name, ClusterStatus.STOPPED)
        store.add_event(name, "stopped", "cluster stopped")

    await _under_lock(name, action)


async def down(name: str) -> None:
    """Terminate every instance of the cluster (and any launch intent left by a crash)."""
    await _under_lock(name, terminate_cluster)


async def terminate_cluster(store: StateStore, record: ClusterRecord) -> None:
    """Terminate everything of the cluster in every provider it touched, then forget it.

    The cloud is the truth: besides the saved instances and the launch intents (ids a crashed
    launch may have created), anything tagged with the cluster's name goes too.
    """
    from styx.storage.mounts import delete_cluster_buckets, unmount_cluster

    await unmount_cluster(store, record)  # uploads finish, mounts go, before the nodes do
    by_provider: dict[str, set[str]] = {record.provider: set()}
    for inst in store.instances(record.name):
        by_provider.setdefault(inst.provider.value, set()).add(inst.id)
    for intent in store.intents(record.name):
        by_provider.setdefault(intent["provider"], set()).add(intent["instance_id"])
    factory = provider_factory()
    total = 0
    for provider_name, ids in by_provider.items():
        provider = factory(provider_name)
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
    from styx.execution.ssh.config_entries import remove_entries

    remove_entries(record.name)  # its `ssh <cluster>` entries
    store.remove_cluster(record.name)
    store.add_event(record.name, "down", f"terminated {total} instance(s)")
    await delete_cluster_buckets(store, record.name, _quiet)  # non-persistent buckets


async def status(
    refresh: bool = False, cluster_names: list[str] | None = None
) -> list[ClusterRecord]:
    """The clusters in the state store; with ``refresh``, made to agree with the providers."""
    store = open_store()
    records = store.list_clusters()
    if cluster_names:
        wanted = set(cluster_names)
        records = [r for r in records if r.name in wanted]
    if refresh:
        from styx.placement import cached_enabled_clouds
        from styx.reconcile import refresh_clusters

        scan = set(cached_enabled_clouds()) | {r.provider for r in store.list_clusters()}
        records = await refresh_clusters(store, records, scan if not cluster_names else None)
    return records
