"""``status -r``: make the state store agree with what the providers report.

The cloud is the truth. Instances the state knows are refreshed; instances tagged with a known
cluster but missing from state (a client killed mid-launch) are adopted into it; a cluster whose
instances are all gone is forgotten; a cluster whose instances are all stopped is STOPPED.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from styx.placement import provider_factory
from styx.providers.instance import Instance, InstanceState
from styx.state.store import ClusterRecord, ClusterStatus, StateStore


async def _refresh_one(store: StateStore, record: ClusterRecord) -> ClusterRecord | None:
    provider = provider_factory()(record.provider)
    listed = [i for i in await provider.list_instances() if i.cluster_name == record.name]
    known = {i.id: i for i in store.instances(record.name)}
    live: list[Instance] = []
    for inst in listed:
        if inst.state is InstanceState.TERMINATED:
            continue
        live.append(inst)
    for inst_id, inst in known.items():
        if inst_id not in {i.id for i in listed}:
            fresh = await provider.get_instance(inst.id)
            if fresh is not None and fresh.state is not InstanceState.TERMINATED:
                live.append(fresh)
    if not live:
        if record.status is not ClusterStatus.INIT or not store.intents(record.name):
            store.remove_cluster(record.name)
            store.add_event(record.name, "gone", "no instance left: cluster removed from state")
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
    return replace(record, status=status)


async def refresh_clusters(store: StateStore, records: list[ClusterRecord]) -> list[ClusterRecord]:
    results = await asyncio.gather(
        *(_refresh_one(store, r) for r in records), return_exceptions=True
    )
    out: list[ClusterRecord] = []
    for record, result in zip(records, results, strict=True):
        if isinstance(result, BaseException):
            out.append(record)  # one broken provider never breaks the listing
        elif result is not None:
            out.append(result)
    return out
