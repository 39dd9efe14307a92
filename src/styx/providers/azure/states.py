"""Azure VM state -> InstanceState, through ONE explicit table.

A VM's state is two things in its instance view: ``ProvisioningState/<x>`` (the last ARM
operation) and ``PowerState/<y>`` (the machine). Creating/Deleting/Failed provisioning states
win over the power state; otherwise the power state decides. Note that ``stopped`` (powerOff)
still bills for compute, while ``deallocated`` does not: Styx's stop is a deallocate.
"""

from __future__ import annotations

from styx.providers.instance import InstanceState, map_native_state

STATE_TABLE: dict[str, InstanceState] = {
    "PowerState/starting": InstanceState.PENDING,
    "PowerState/running": InstanceState.RUNNING,
    "PowerState/stopping": InstanceState.STOPPED,
    "PowerState/stopped": InstanceState.STOPPED,
    "PowerState/deallocating": InstanceState.STOPPED,
    "PowerState/deallocated": InstanceState.STOPPED,
    "ProvisioningState/creating": InstanceState.PENDING,
    "ProvisioningState/updating": InstanceState.PENDING,
    "ProvisioningState/migrating": InstanceState.PENDING,
    "ProvisioningState/failed": InstanceState.ERROR,
    "ProvisioningState/deleting": InstanceState.TERMINATED,
    # provisioning finished but no power state reported yet: the VM is still coming up
    "ProvisioningState/succeeded": InstanceState.PENDING,
}

# Provisioning states that override whatever the power state says.
_DOMINANT = {"creating", "deleting", "failed", "migrating"}


def native_state(status_codes: list[str]) -> str | None:
    """The one status code (from an instance view's statuses) that decides the state.

    Provisioning codes are normalised: Azure appends details (``ProvisioningState/failed/
    AllocationFailed``) and varies case; the table is keyed on ``ProvisioningState/<state>``.
    """
    provisioning = next((c for c in status_codes if c.startswith("ProvisioningState/")), None)
    power = next((c for c in status_codes if c.startswith("PowerState/")), None)
    if provisioning:
        provisioning = "ProvisioningState/" + provisioning.split("/")[1].lower()
        if provisioning.split("/")[1] in _DOMINANT:
            return provisioning
    return power or provisioning


def map_state(status_codes: list[str]) -> tuple[InstanceState, str | None]:
    """(InstanceState, the native code it came from). Unknown codes map to ERROR."""
    native = native_state(status_codes)
    state, _ = map_native_state(STATE_TABLE, native)
    return state, native
