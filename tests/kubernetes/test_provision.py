"""Provisioning details: shapes, GPUs, capacity, images, services, labels, regions, states."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from styx.errors import CapacityError, InvalidRequestError, UnsupportedError
from styx.providers.base import ProvisionRequest
from styx.providers.instance import InstanceState
from styx.providers.kubernetes.provider import KubernetesProvider
from styx.providers.kubernetes.settings import DEFAULT_GPU_IMAGE
from tests.fakes.kubernetes.server import FakeKubeServer
from tests.kubernetes.conftest import FAST, dead_url, raw_get, raw_pod

run = asyncio.run
Req = Callable[..., ProvisionRequest]


def test_cpu_class_sets_requests_limits_labels_and_keepalive(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    req = k8s_request("My Cluster/1", instance_type="medium", tags={"team": "a b"})
    inst = run(k8s.provision(req))
    assert inst.state is InstanceState.RUNNING
    assert inst.private_ip and inst.private_ip.startswith("10.244.")
    assert inst.public_ip is None and inst.region == "fake"
    assert inst.native_id == f"default/styx-{req.instance_id}"
    _, pod = raw_pod(fake_k8s, inst.native_id)
    container = pod["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}
    assert container["image"] == "python:3.11-slim"
    assert "sleep" in " ".join(container["command"])
    labels = pod["metadata"]["labels"]
    assert labels["styx-id"] == req.instance_id
    assert labels["styx-cluster"] == "My-Cluster-1"  # valid label value
    assert labels["styx-node-rank"] == "0" and labels["styx-owner"]
    assert "nvidia.com/gpu" not in container["resources"]["limits"]
    got = run(k8s.get_instance(inst.id))
    assert got is not None
    assert got.cluster_name == "My Cluster/1"  # the exact name survives (annotation)
    assert got.tags["team"] == "a b" and got.tags["styx-id"] == req.instance_id
    assert got.instance_type == "medium"


def test_exact_shape_and_docker_image(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    req = k8s_request("exact", instance_type="0.5cpu-1.5gb", image_id="docker:python:3.11-slim")
    inst = run(k8s.provision(req))
    _, pod = raw_pod(fake_k8s, inst.native_id or "")
    container = pod["spec"]["containers"][0]
    assert container["image"] == "python:3.11-slim"
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1536Mi"}


def test_gpu_class_requests_gpu_with_node_selector(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    inst = run(k8s.provision(k8s_request("gpu", instance_type="gpu-tesla-t4-1")))
    _, pod = raw_pod(fake_k8s, inst.native_id or "")
    spec = pod["spec"]
    assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.product": "Tesla-T4"}
    assert spec["nodeName"] == "gpu-node-1"
    assert spec["containers"][0]["image"] == DEFAULT_GPU_IMAGE


def test_num_gpus_on_a_cpu_class_pins_the_only_gpu_product(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    inst = run(k8s.provision(k8s_request("gpu2", instance_type="small", num_gpus=1)))
    _, pod = raw_pod(fake_k8s, inst.native_id or "")
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "Tesla-T4"}


def test_gpu_request_larger_than_any_node_is_capacity_error_fast_and_leaves_nothing(
    kubeconfig: Path, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    # A 120 s scheduling timeout: answering well before it can only be the Unschedulable
    # verdict, with room for a loaded machine.
    k8s = KubernetesProvider(**{**FAST, "schedule_timeout_s": 120.0})
    start = time.monotonic()
    with pytest.raises(CapacityError) as info:
        run(k8s.provision(k8s_request("big", instance_type="gpu-tesla-t4-4")))
    elapsed = time.monotonic() - start
    run(k8s.close())
    assert elapsed < 60, elapsed
    assert "Insufficient nvidia.com/gpu" in str(info.value)
    assert info.value.native_code == "FailedScheduling" and info.value.region == "fake"
    assert fake_k8s.undeleted_pod_names() == []


def test_gang_that_does_not_fit_is_all_or_nothing(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    # "medium" is 2 CPU: the nodes (2 + 2 + 4 CPU) hold four, not five.
    with pytest.raises(CapacityError, match="Insufficient cpu"):
        run(k8s.provision_many(k8s_request("gang5", instance_type="medium"), 5))
    assert fake_k8s.undeleted_pod_names() == []
    fake_k8s.wait_pods_gone()  # terminating pods hold their room until they are gone
    gang = run(k8s.provision_many(k8s_request("gang4", instance_type="medium"), 4))
    assert sorted(i.node_rank for i in gang) == [0, 1, 2, 3]
    assert all(i.state is InstanceState.RUNNING for i in gang)


def test_unknown_types_are_invalid_requests(k8s: KubernetesProvider, k8s_request: Req) -> None:
    with pytest.raises(InvalidRequestError, match="unknown Kubernetes instance type"):
        run(k8s.provision(k8s_request("x", instance_type="m5.large")))
    with pytest.raises(InvalidRequestError, match="no node offers GPU product 'h100'"):
        run(k8s.provision(k8s_request("x", instance_type="gpu-h100-1")))


def test_image_pull_failure_is_invalid_request_and_pod_is_deleted(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    fake_k8s.call(lambda: fake_k8s.cluster.bad_images.add("ghost/image:1"))
    with pytest.raises(InvalidRequestError, match="ErrImagePull"):
        run(k8s.provision(k8s_request("img", image_id="docker:ghost/image:1")))
    assert fake_k8s.undeleted_pod_names() == []


def test_ports_make_a_service_and_terminate_removes_it(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    req = k8s_request("svc", ports=(8080, 22))
    inst = run(k8s.provision(req))
    name = (inst.native_id or "").split("/")[1]
    status, svc = raw_get(fake_k8s, f"/api/v1/namespaces/default/services/{name}")
    assert status == 200
    assert sorted(p["port"] for p in svc["spec"]["ports"]) == [22, 8080]
    assert svc["spec"]["selector"] == {"styx-id": req.instance_id}
    run(k8s.terminate(inst.id))
    assert raw_get(fake_k8s, f"/api/v1/namespaces/default/services/{name}")[0] == 404
    status, pod = raw_pod(fake_k8s, inst.native_id or "")
    assert status == 404 or pod["metadata"]["deletionTimestamp"]  # gone or Terminating


def test_stop_start_unsupported(k8s: KubernetesProvider, k8s_request: Req) -> None:
    assert KubernetesProvider.capabilities.stop_start is False
    inst = run(k8s.provision(k8s_request("s")))
    for verb in (k8s.stop, k8s.start):
        with pytest.raises(UnsupportedError, match="cannot be"):
            run(verb(inst.id))


def test_instance_types_from_nodes(k8s: KubernetesProvider) -> None:
    types = {t.name: t for t in run(k8s.list_instance_types("fake"))}
    assert {"small", "medium", "large"} <= set(types)  # large fits the 4-CPU GPU node
    assert "xlarge" not in types  # 8 CPU fits nowhere
    gpu = types["gpu-tesla-t4-1"]
    assert (gpu.accelerator_name, gpu.accelerator_count) == ("T4", 1)
    # Nothing else requests resources on the GPU node: the 1-GPU class gets all of it.
    assert gpu.vcpus == 4 and gpu.memory_gib == 16 and gpu.region == "fake"


def test_contexts_are_regions_filtered_by_allowed_contexts(
    fake_k8s: FakeKubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fake_k8s.write_kubeconfig(
        tmp_path / "kc", contexts=("ctx-a", "ctx-b"), current="ctx-a",
        extra_clusters={"secret": dead_url()},
    )  # fmt: skip
    monkeypatch.setenv("KUBECONFIG", str(path))
    (tmp_path / "styx-home").mkdir(exist_ok=True)
    provider = KubernetesProvider(allowed_contexts=["ctx-a", "ctx-b"], **FAST)
    assert run(provider.list_regions()) == ["ctx-a", "ctx-b"]
    inst = run(provider.provision(ProvisionRequest("r", "small", region="ctx-b")))
    assert inst.region == "ctx-b"
    assert run(KubernetesProvider(**FAST).list_regions()) == ["ctx-a", "ctx-b", "secret"]
    with pytest.raises(Exception, match="not in allowed_contexts"):
        run(provider.provision(ProvisionRequest("r", "small", region="secret")))


def test_namespace_from_config_is_created(
    fake_k8s: FakeKubeServer, kubeconfig: Path, styx_home: Path
) -> None:
    (styx_home / "config.yaml").write_text("kubernetes:\n  namespace: styx-jobs\n")
    provider = KubernetesProvider(**FAST)
    inst = run(provider.provision(ProvisionRequest("ns", "small")))
    assert (inst.native_id or "").startswith("styx-jobs/")
    assert raw_get(fake_k8s, "/api/v1/namespaces/styx-jobs")[0] == 200
    assert [i.id for i in run(provider.list_instances())] == [inst.id]


def test_live_phase_changes_map_through_the_table(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    inst = run(k8s.provision(k8s_request("phase")))
    name = (inst.native_id or "").split("/")[1]
    for phase, state in [("Failed", InstanceState.ERROR), ("Succeeded", InstanceState.TERMINATED),
                         ("Unknown", InstanceState.ERROR)]:  # fmt: skip
        fake_k8s.call(
            lambda p=phase: fake_k8s.cluster.patch_pod_status("default", name, {"phase": p})
        )
        got = run(k8s.get_instance(inst.id))
        assert got is not None and got.state is state and got.native_state == phase


def test_gke_accelerator_label_drives_the_node_selector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.kubernetes.cluster import FakeNode

    gke = FakeNode("gke-gpu", cpu="8", memory="32Gi", gpus=2,
                   labels={"cloud.google.com/gke-accelerator": "nvidia-tesla-a100"})  # fmt: skip
    with FakeKubeServer(nodes=[gke]) as server:
        monkeypatch.setenv("KUBECONFIG", str(server.write_kubeconfig(tmp_path / "kc")))
        provider = KubernetesProvider(**FAST)
        types = {t.name: t for t in run(provider.list_instance_types())}
        assert set(types) == {"small", "medium", "large", "xlarge", "gpu-nvidia-tesla-a100-1",
                              "gpu-nvidia-tesla-a100-2"}  # fmt: skip
        assert types["gpu-nvidia-tesla-a100-2"].accelerator_name == "A100"
        inst = run(provider.provision(ProvisionRequest("g", "gpu-nvidia-tesla-a100-2")))
        _, pod = raw_pod(server, inst.native_id or "")
        assert pod["spec"]["nodeSelector"] == {
            "cloud.google.com/gke-accelerator": "nvidia-tesla-a100"
        }
        assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_terminate_uses_the_known_context_and_unreachable_context_is_not_not_found(
    fake_k8s: FakeKubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from styx.errors import TransientError

    path = fake_k8s.write_kubeconfig(tmp_path / "kc", contexts=("live",),
                                     extra_clusters={"dead": dead_url()})  # fmt: skip
    monkeypatch.setenv("KUBECONFIG", str(path))
    provider = KubernetesProvider(retry_attempts=1, **FAST)
    inst = run(provider.provision(ProvisionRequest("t", "small")))
    assert [i.id for i in run(provider.list_instances())] == [inst.id]  # dead one skipped
    run(provider.terminate(inst.id))  # only "live" is asked: the id was seen there
    assert fake_k8s.undeleted_pod_names() == []
    fake_k8s.wait_pods_gone()  # then the live context no longer knows the pod either
    fresh = KubernetesProvider(retry_attempts=1, **FAST)
    with pytest.raises(TransientError):  # cannot tell "gone" from "could not ask"
        run(fresh.get_instance(inst.id))
