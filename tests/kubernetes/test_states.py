"""The pod state table, on V1Pod objects built as the SDK would deserialize them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kubernetes import client

from styx.providers.instance import InstanceState
from styx.providers.kubernetes.manifests import label_value, pod_name
from styx.providers.kubernetes.states import POD_STATES, pod_state


def pod(phase: str | None, *, ready: bool = True, waiting: str | None = None,
        deleting: bool = False) -> client.V1Pod:  # fmt: skip
    state = (
        client.V1ContainerState(waiting=client.V1ContainerStateWaiting(reason=waiting))
        if waiting
        else client.V1ContainerState(running=client.V1ContainerStateRunning())
    )
    status = client.V1ContainerStatus(
        name="styx", image="i", image_id="", ready=ready, restart_count=0, state=state
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(
            name="p", deletion_timestamp=datetime.now(UTC) if deleting else None
        ),
        status=client.V1PodStatus(phase=phase, container_statuses=[status]),
    )


@pytest.mark.parametrize(
    ("p", "expected", "native"),
    [
        (pod("Pending", ready=False), InstanceState.PENDING, "Pending"),
        (pod("Pending", waiting="ContainerCreating"), InstanceState.PENDING,
         "Pending/ContainerCreating"),
        (pod("Pending", waiting="ImagePullBackOff"), InstanceState.ERROR,
         "Pending/ImagePullBackOff"),
        (pod("Running"), InstanceState.RUNNING, "Running"),
        (pod("Running", ready=False), InstanceState.PENDING, "Running/NotReady"),
        (pod("Running", waiting="CrashLoopBackOff"), InstanceState.ERROR,
         "Running/CrashLoopBackOff"),
        (pod("Succeeded"), InstanceState.TERMINATED, "Succeeded"),
        (pod("Failed"), InstanceState.ERROR, "Failed"),
        (pod("Unknown"), InstanceState.ERROR, "Unknown"),
        (pod("Running", deleting=True), InstanceState.TERMINATED, "Terminating"),
        (pod("Evicted-ish"), InstanceState.ERROR, "Evicted-ish"),  # unknown: kept raw
    ],
)  # fmt: skip
def test_pod_state_table(p: client.V1Pod, expected: InstanceState, native: str) -> None:
    assert pod_state(p) == (expected, native)


def test_every_table_state_is_reachable_type() -> None:
    assert set(POD_STATES.values()) <= set(InstanceState)
    assert InstanceState.STOPPED not in POD_STATES.values()  # pods never stop


def test_names_and_label_values_are_valid() -> None:
    import re

    valid = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
    for text in ["My Cluster/1", "-x-", "a" * 80, "ünïcode", "ok.name_1"]:
        value = label_value(text)
        assert len(value) <= 63 and valid.match(value), value
    name = pod_name("ABC_def" * 20)
    assert len(name) <= 63 and re.match(r"^[a-z]([-a-z0-9]*[a-z0-9])?$", name)
