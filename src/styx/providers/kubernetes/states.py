"""The ONE table from pod phase (and the container states that matter) to InstanceState."""

from __future__ import annotations

from typing import Any

from styx.providers.instance import InstanceState, map_native_state

# Keys are "<phase>" or "<phase>/<detail>"; pod_native_state() builds them from a V1Pod.
POD_STATES: dict[str, InstanceState] = {
    "Pending": InstanceState.PENDING,
    "Pending/ContainerCreating": InstanceState.PENDING,
    "Pending/PodInitializing": InstanceState.PENDING,
    # An image that cannot be pulled never starts: the node is unusable, not merely late.
    "Pending/ErrImagePull": InstanceState.ERROR,
    "Pending/ImagePullBackOff": InstanceState.ERROR,
    "Pending/InvalidImageName": InstanceState.ERROR,
    "Pending/CreateContainerConfigError": InstanceState.ERROR,
    "Running": InstanceState.RUNNING,  # every container ready
    "Running/NotReady": InstanceState.PENDING,
    "Running/CrashLoopBackOff": InstanceState.ERROR,
    "Succeeded": InstanceState.TERMINATED,
    "Failed": InstanceState.ERROR,
    "Unknown": InstanceState.ERROR,  # the node stopped reporting
    "Terminating": InstanceState.TERMINATED,  # deletionTimestamp set: going away
}


def pod_native_state(pod: Any) -> str:
    """The POD_STATES key for a V1Pod."""
    if pod.metadata.deletion_timestamp is not None:
        return "Terminating"
    status = pod.status
    phase = (status.phase if status else None) or "Unknown"
    containers = (status.container_statuses if status else None) or []
    waiting = [
        c.state.waiting.reason
        for c in containers
        if c.state is not None and c.state.waiting is not None and c.state.waiting.reason
    ]
    if phase in ("Pending", "Running") and waiting:
        return f"{phase}/{waiting[0]}"
    if phase == "Running" and not (containers and all(c.ready for c in containers)):
        return "Running/NotReady"
    return phase


def pod_state(pod: Any) -> tuple[InstanceState, str]:
    """(Styx state, native key). Unknown keys map to ERROR, the key is kept as native_state."""
    native = pod_native_state(pod)
    state, _raw = map_native_state(POD_STATES, native)
    return state, native
