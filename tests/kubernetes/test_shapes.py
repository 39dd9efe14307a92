"""GPU pod classes offer what a node can really give: allocatable minus what pods without GPUs
already request on it (issue 13: `A100:8` with `cpus: 90+` on a 96-CPU node was infeasible
when a GPU class got only 75% of the node)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from styx.optimizer import plan
from styx.providers.base import ProvisionRequest
from styx.providers.kubernetes.provider import KubernetesProvider
from styx.providers.kubernetes.shapes import (
    NodeInfo,
    instance_types,
    non_gpu_requests,
    resolve_shape,
)
from styx.resources import Resources
from tests.fakes.kubernetes.cluster import FakeNode
from tests.fakes.kubernetes.server import FakeKubeServer
from tests.kubernetes.conftest import FAST, raw_pod

A100 = {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "nvidia.com/gpu.count": "8"}
CLASS8 = "gpu-nvidia-a100-sxm4-80gb-8"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.fixture
def big_gpu_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubeServer]:
    nodes = [
        FakeNode("cpu-node", cpu="8", memory="32Gi"),
        FakeNode("a100-node", cpu="96", memory="1024Gi", gpus=8, labels=A100),
    ]
    with FakeKubeServer(nodes=nodes) as server:
        monkeypatch.setenv("KUBECONFIG", str(server.write_kubeconfig(tmp_path / "kubeconfig")))
        yield server


@pytest.fixture
def provider(big_gpu_cluster: FakeKubeServer) -> Iterator[KubernetesProvider]:
    p = KubernetesProvider(**FAST)
    yield p
    run(p.close())


def add_pod(server: FakeKubeServer, name: str, node: str, requests: dict[str, str]) -> None:
    """A pod not made by Styx (a daemon set's, say), pinned to ``node``."""

    def create() -> None:
        if "kube-system" not in server.cluster.namespaces:
            server.cluster.create_namespace({"metadata": {"name": "kube-system"}})
        body = {
            "metadata": {"name": name},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": node},
                "containers": [
                    {"name": "c", "image": "busybox", "resources": {"requests": requests}}
                ],
            },
        }
        server.cluster.create_pod("kube-system", body)

    server.call(create)


def types_of(provider: KubernetesProvider) -> dict:
    return {t.name: t for t in run(provider.list_instance_types("fake"))}


def test_whole_node_class_gets_allocatable_minus_daemon_requests(
    provider: KubernetesProvider, big_gpu_cluster: FakeKubeServer
) -> None:
    add_pod(big_gpu_cluster, "node-exporter", "a100-node", {"cpu": "500m", "memory": "1Gi"})
    add_pod(big_gpu_cluster, "elsewhere", "cpu-node", {"cpu": "4", "memory": "8Gi"})
    types = types_of(provider)
    eight = types[CLASS8]
    assert (eight.accelerator_name, eight.accelerator_count) == ("A100", 8)
    assert eight.vcpus == 95 and eight.memory_gib == 1023  # 96 - 0.5 CPU, 1024 - 1 GiB
    four = types["gpu-nvidia-a100-sxm4-80gb-4"]
    assert four.vcpus == 47 and four.memory_gib == 511  # half of what is free, rounded down


def test_a100_8_with_90_plus_cpus_plans_and_schedules(
    provider: KubernetesProvider, big_gpu_cluster: FakeKubeServer
) -> None:
    add_pod(big_gpu_cluster, "node-exporter", "a100-node", {"cpu": "500m", "memory": "1Gi"})
    inventory = {"kubernetes": {"fake": run(provider.list_instance_types("fake"))}}
    # The SkyPilot task: resources: {accelerators: A100:8, cpus: 90+}
    wanted = Resources.from_yaml({"accelerators": "A100:8", "cpus": "90+"})
    offers = plan(wanted, inventories=inventory, clouds=["kubernetes"])
    assert [o.instance_type for o in offers] == [CLASS8]
    request = ProvisionRequest(cluster_name="big", instance_type=CLASS8, num_gpus=8, region="fake")
    inst = run(provider.provision(request))
    _, pod = raw_pod(big_gpu_cluster, inst.native_id or "")
    assert pod["spec"]["nodeName"] == "a100-node"
    limits = pod["spec"]["containers"][0]["resources"]
    assert limits["limits"]["nvidia.com/gpu"] == "8"
    assert limits["requests"]["cpu"] in ("95", "95000m")


def test_pods_holding_gpus_do_not_shrink_the_classes_twice(
    provider: KubernetesProvider, big_gpu_cluster: FakeKubeServer
) -> None:
    small = "gpu-nvidia-a100-sxm4-80gb-1"
    before = types_of(provider)[small]
    inst = run(provider.provision(ProvisionRequest(cluster_name="one", instance_type=small)))
    assert inst.native_id
    after = types_of(provider)[small]
    assert (after.vcpus, after.memory_gib) == (before.vcpus, before.memory_gib) == (12, 128)


def test_classes_split_what_is_free_on_the_node() -> None:
    node = NodeInfo("n", 96, 1024, 8, "nvidia.com/gpu.product", "NVIDIA-A100-SXM4-80GB")
    busy = NodeInfo("n", 96, 1024, 8, "nvidia.com/gpu.product", "NVIDIA-A100-SXM4-80GB", 6, 16)
    assert {t.name: t.vcpus for t in instance_types([node], "r")}[CLASS8] == 96
    assert {t.name: t.vcpus for t in instance_types([busy], "r")}[CLASS8] == 90
    assert resolve_shape(CLASS8, 8, [busy]).cpus == 90
    assert busy.free_cpus == 90 and busy.free_memory_gib == 1008


def _pod(node: str | None, phase: str, **resources: dict[str, str]):  # type: ignore[no-untyped-def]
    from kubernetes.client import (
        V1Container,
        V1Pod,
        V1PodSpec,
        V1PodStatus,
        V1ResourceRequirements,
    )

    container = V1Container(name="c", resources=V1ResourceRequirements(**resources))
    return V1Pod(
        spec=V1PodSpec(node_name=node, containers=[container]), status=V1PodStatus(phase=phase)
    )


def test_only_unfinished_pods_without_gpus_count() -> None:
    pods = [
        _pod("n", "Running", requests={"cpu": "250m", "memory": "512Mi"}),
        _pod("n", "Pending", limits={"cpu": "1", "memory": "1Gi"}),  # limits stand in
        _pod("n", "Succeeded", requests={"cpu": "8"}),
        _pod("n", "Failed", requests={"cpu": "8"}),
        _pod("n", "Running", requests={"cpu": "12"}, limits={"nvidia.com/gpu": "1"}),
        _pod(None, "Pending", requests={"cpu": "8"}),  # not bound to a node yet
        _pod("m", "Running", requests={"cpu": "2"}),
    ]
    got = non_gpu_requests(pods)
    assert got["n"] == pytest.approx((1.25, 1.5)) and got["m"] == pytest.approx((2.0, 0.0))
    assert set(got) == {"n", "m"}
