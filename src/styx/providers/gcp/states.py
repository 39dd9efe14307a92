"""GCE instance status -> Styx state: the one table.

GCE's TERMINATED means *stopped* (disk kept, restartable); a deleted instance is simply gone
(404), which the provider reports as None.
"""

from __future__ import annotations

from styx.providers.instance import InstanceState, map_native_state

STATUS_TABLE: dict[str, InstanceState] = {
    "PROVISIONING": InstanceState.PENDING,
    "STAGING": InstanceState.PENDING,
    "RUNNING": InstanceState.RUNNING,
    "PENDING_STOP": InstanceState.STOPPED,
    "STOPPING": InstanceState.STOPPED,
    "SUSPENDING": InstanceState.STOPPED,
    "SUSPENDED": InstanceState.STOPPED,
    "TERMINATED": InstanceState.STOPPED,
    "REPAIRING": InstanceState.ERROR,
}


def map_status(native: str | None) -> tuple[InstanceState, str | None]:
    """(state, raw value when unknown)."""
    return map_native_state(STATUS_TABLE, native)
