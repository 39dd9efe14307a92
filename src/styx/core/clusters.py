"""Finding a cluster in the state store and connecting to its head."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from styx.errors import ClusterError, ClusterNotFoundError
from styx.execution.backend import ClusterBackend
from styx.spec import check_cluster_name, did_you_mean
from styx.state.store import ClusterRecord, ClusterStatus, StateStore


def require(store: StateStore, name: str) -> ClusterRecord:
    """The cluster's record; ClusterNotFoundError (with a suggestion) when there is none."""
    check_cluster_name(name)
    record = store.get_cluster(name)
    if record is None:
        names = [c.name for c in store.list_clusters()]
        raise ClusterNotFoundError(
            f"cluster '{name}' does not exist{did_you_mean(name, names)}", cluster=name
        )
    return record


def require_up(store: StateStore, name: str) -> ClusterRecord:
    record = require(store, name)
    if record.status is not ClusterStatus.UP:
        raise ClusterError(
            f"cluster '{name}' is {record.status.value}, not UP"
            + (f"; run `styx start {name}`" if record.status is ClusterStatus.STOPPED else ""),
            cluster=name,
        )
    return record


@asynccontextmanager
async def connected(store: StateStore, name: str) -> AsyncIterator[ClusterBackend]:
    """A backend on the head of the up cluster ``name``, closed on the way out."""
    record = require_up(store, name)
    backend = await ClusterBackend.connect(record, store.instances(name))
    try:
        yield backend
    finally:
        await backend.close()
