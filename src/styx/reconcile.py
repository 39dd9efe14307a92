"""``status -r``: make the state store agree with what the providers report.

The cloud is the truth. Instances the state knows are refreshed; instances tagged with a known
cluster but missing from state (a client killed mid-launch) are adopted into it; a cluster whose
instances are all gone is forgotten; a cluster whose instances are all stopped is STOPPED. For an
UP cluster the head's agent is asked for its job queue too.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from styx.placement import provider_factory
from styx.providers.instance import Instance, InstanceState
from styx.state.store import ClusterRecord, ClusterStatus, JobRecord, StateStore

AGENT_TIMEOUT_S = 15.0


Listing = list[Instance] | BaseException  # a provider's instances, or why it could not list


async def _refresh_one(
    store: StateStore, record: ClusterRecord, listing: Listing
) -> ClusterRecord | None:
    if isinstance(listing, BaseException):
        raise listing
    provider = provider_factory()(record.provider)
    listed = [i for i in listing if i.cluster_name == record.name]
    listed_ids = {i.id for i in listed}
    known = {i.id: i for i in store.instances(record.name)}
    live = [i for i in listed if i.state is not InstanceState.TERMINATED]
    for inst_id, inst in known.items():
        if inst_id not in listed_ids:
            fresh = await provider.get_instance(inst.id)
            if fresh is not None and fresh.state is not InstanceState.TERMINATED:
                live.append(fresh)
    if not live:
        if record.status is not ClusterStatus.INIT or not store.intents(record.name):
            store.remove_cluster(record.name)
            store.add_event(record.name, "gone", "no instance left: cluster removed from state")
            from styx.execution.ssh.config_entries import remove_entries

            remove_entries(record.name)  # no `ssh <cluster>` to a cluster that is gone
            return None
        return record
    gone = [i for i in known if i not in {x.id for x in live}]
    if gone:
        store.remove_instances(gone)
    store.save_instances(live)
    states = {i.state for i in live}
    if states == {InstanceState.STOPPED}:
        status = ClusterStatus.STOPPED
    elif states == {InstanceState.RUNNING} and len(live) == record.num_nodes:
        status = ClusterStatus.UP if record.status is not ClusterStatus.INIT else record.status
    else:
        status = ClusterStatus.INIT
    if status is not record.status:
        store.set_cluster_status(record.name, status)
        store.add_event(record.name, "status", f"{record.status.value} -> {status.value}")
    if status is ClusterStatus.UP:
        await _refresh_jobs(store, record, live)
    return replace(record, status=status)


async def _refresh_jobs(store: StateStore, record: ClusterRecord, nodes: list[Instance]) -> None:
    """Ask the head's agent for its queue, so the listing shows each cluster's last job.

    Bounded: an agent that does not answer leaves the old job records and an event."""
    from styx.execution.backend import ClusterBackend

    nodes = sorted(nodes, key=lambda i: i.node_rank)
    try:
        backend = await asyncio.wait_for(ClusterBackend.connect(record, nodes), AGENT_TIMEOUT_S)
        try:
            jobs = await asyncio.wait_for(backend.queue(), AGENT_TIMEOUT_S)
            from styx.cost.headnote import refresh_head_note

            await refresh_head_note(store, record.name, backend, AGENT_TIMEOUT_S)
        finally:
            await backend.close()
    except Exception as exc:  # noqa: BLE001 - a silent head must not break the listing
        store.add_event(record.name, "agent", f"job queue not refreshed: {exc}")
        return
    store.save_jobs([JobRecord.from_agent(record.name, j.to_dict()) for j in jobs])


def adopt_leaked(store: StateStore, listings: list[Listing]) -> list[ClusterRecord]:
    """Instances tagged by Styx whose cluster the state does not know (a client killed before it
    recorded anything, another machine's state lost): adopted as INIT clusters so that
    ``styx down`` can remove them. One broken provider never breaks the scan."""
    known = {r.name for r in store.list_clusters()}
    orphans: dict[tuple[str, str], list[Instance]] = {}
    for listing in listings:
        if isinstance(listing, BaseException):
            continue
        for inst in listing:
            if inst.state.is_alive and inst.cluster_name and inst.cluster_name not in known:
                orphans.setdefault((inst.provider.value, inst.cluster_name), []).append(inst)
    adopted = []
    for (provider, cluster), instances in sorted(orphans.items()):
        first = instances[0]
        record = ClusterRecord(
            name=cluster,
            provider=provider,
            status=ClusterStatus.INIT,
            num_nodes=len(instances),
            region=first.region,
            zone=first.zone,
            instance_type=first.instance_type,
            use_spot=first.use_spot,
        )
        store.upsert_cluster(record)
        store.save_instances(instances)
        store.add_event(
            cluster,
            "adopted",
            f"{len(instances)} leaked {provider} instance(s) adopted; "
            f"`styx down {cluster}` removes them",
        )
        adopted.append(record)
    return adopted


async def refresh_clusters(
    store: StateStore, records: list[ClusterRecord], scan: set[str] | None = None
) -> list[ClusterRecord]:
    """Refresh ``records``; with ``scan``, also adopt leaked instances of those providers.

    Each provider is listed once, however many clusters it holds.
    """
    names = sorted({r.provider for r in records} | (scan or set()))
    factory = provider_factory()

    async def list_one(name: str) -> list[Instance]:
        return await factory(name).list_instances()  # a missing SDK fails here, caught below

    listed = await asyncio.gather(*(list_one(n) for n in names), return_exceptions=True)
    listings: dict[str, Listing] = dict(zip(names, listed, strict=True))
    if scan:
        records = records + adopt_leaked(store, [listings[n] for n in sorted(scan)])
    results = await asyncio.gather(
        *(_refresh_one(store, r, listings[r.provider]) for r in records), return_exceptions=True
    )
    out: list[ClusterRecord] = []
    for record, result in zip(records, results, strict=True):
        if isinstance(result, BaseException):
            out.append(record)  # one broken provider never breaks the listing
        elif result is not None:
            out.append(result)
    return out
