"""Local nodes share this machine's CPUs and memory (like containers); GPUs stay exclusive."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from styx.errors import CapacityError
from styx.providers.base import ProvisionRequest
from styx.providers.local.provider import LocalProvider
from tests.integration.test_local_gpu import SMI


def _provision(local: LocalProvider, cluster: str, instance_type: str) -> str:
    request = ProvisionRequest(cluster_name=cluster, instance_type=instance_type)
    return asyncio.run(local.provision(request)).id


def test_whole_machine_nodes_run_side_by_side(tmp_path: Path) -> None:
    local = LocalProvider(tmp_path / "local")
    whole = max(asyncio.run(local.list_instance_types()), key=lambda t: t.vcpus)
    assert whole.vcpus == local.machine.cpus
    # Three clusters that each ask for every CPU: reserved exclusively, only one would fit.
    ids = [_provision(local, f"c{n}", whole.name) for n in range(3)]
    running = asyncio.run(local.list_instances())
    assert sorted(i.id for i in running) == sorted(ids)
    assert {i.state.value for i in running} == {"running"}
    for instance_id in ids:
        asyncio.run(local.terminate(instance_id))


def test_stopped_node_starts_again_while_others_run(tmp_path: Path) -> None:
    local = LocalProvider(tmp_path / "local")
    whole = max(asyncio.run(local.list_instance_types()), key=lambda t: t.vcpus)
    first = _provision(local, "a", whole.name)
    asyncio.run(local.stop(first))
    second = _provision(local, "b", whole.name)
    asyncio.run(local.start(first))  # checked against the machine, not against node b
    states = {i.id: i.state.value for i in asyncio.run(local.list_instances())}
    assert states == {first: "running", second: "running"}
    for instance_id in (first, second):
        asyncio.run(local.terminate(instance_id))


def test_gpus_stay_exclusive_and_free_ones_are_counted_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "nvidia-smi").write_text(SMI)  # two H200s
    (bindir / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    local = LocalProvider(tmp_path / "local")
    one = _provision(local, "g1", "local-1xH200")
    assert local.gpu_ids(one) == [0]
    with pytest.raises(CapacityError, match="needs 2 GPUs; 1 free"):
        _provision(local, "g2", "local-2xH200")
    two = _provision(local, "g3", "local-1xH200")
    assert local.gpu_ids(two) == [1]
    asyncio.run(local.terminate(one))  # its GPU is free again at once
    three = _provision(local, "g4", "local-1xH200")
    assert local.gpu_ids(three) == [0]
    for instance_id in (two, three):
        asyncio.run(local.terminate(instance_id))


def test_a_request_larger_than_the_machine_is_refused(tmp_path: Path) -> None:
    from styx.providers.instance import InstanceType

    local = LocalProvider(tmp_path / "local")
    too_big = InstanceType(
        name="too-big",
        vcpus=float(local.machine.cpus * 4),
        memory_gib=1.0,
        price_per_hour=0.0,
        region="local",
    )
    with pytest.raises(CapacityError, match="this machine has"):
        local._claim(too_big)  # the capacity rule itself: no offered slice is this large
