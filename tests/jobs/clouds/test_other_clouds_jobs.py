"""Managed jobs on the GCP, Azure and Kubernetes fakes: preempted twice (GCE: the spot instance
TERMINATED with its preemption message; Azure: the Spot VM evicted to deallocated; Kubernetes:
the pod deleted), 1 node, each ends SUCCEEDED with recovery_count 2, resumed from its checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from styx.providers.instance import Instance
from tests.e2e.clouds import azure_live, azure_section, gcp_live, gcp_section
from tests.e2e.conftest import Nodes
from tests.fakes.azure.server import FakeArmServer
from tests.fakes.gcp.backend import FakeGCE
from tests.fakes.kubernetes.server import FakeKubeServer
from tests.jobs.clouds.scenario import preemption_scenario

pytestmark = pytest.mark.slow


def test_gcp_spot_job_preempted_resumes(
    gce: FakeGCE, nodes: Nodes, styx_home: Path, tmp_path: Path
) -> None:
    def preempt(inst: Instance) -> None:
        gce.preempt(str(inst.native_id))

    record = preemption_scenario(
        styx_home,
        tmp_path,
        nodes,
        "gcp",
        gcp_section(gce),
        {},
        "infra: gcp, use_spot: true, cpus: 2",
        preempt,
        rounds=2,
    )
    assert record["infra"].startswith("gcp/")
    assert gcp_live(gce, record["cluster"]) == 0


def test_azure_spot_job_evicted_resumes(
    arm: FakeArmServer, nodes: Nodes, styx_home: Path, tmp_path: Path
) -> None:
    def evict(inst: Instance) -> None:
        arm.arm.evict(str(inst.native_id).rsplit("/", 1)[-1])

    record = preemption_scenario(
        styx_home, tmp_path, nodes, "azure", azure_section(arm), {},
        "infra: azure/eastus, use_spot: true, cpus: 2", evict, rounds=2,
    )  # fmt: skip
    assert record["infra"].startswith("azure/eastus")
    assert azure_live(arm, record["cluster"]) == 0


def test_kubernetes_job_whose_pod_is_deleted_resumes(
    fake_k8s: FakeKubeServer, styx_home: Path, tmp_path: Path
) -> None:
    kubeconfig = fake_k8s.write_kubeconfig(tmp_path / "kubeconfig", contexts=("fake",))

    def delete_pod(inst: Instance) -> None:
        namespace, _, name = str(inst.native_id).partition("/")
        fake_k8s.call(lambda: fake_k8s.cluster.delete_pod(namespace, name, 0))

    record = preemption_scenario(
        styx_home, tmp_path, None, "kubernetes", {}, {"KUBECONFIG": str(kubeconfig)},
        "infra: k8s/fake", delete_pod, rounds=2,
    )  # fmt: skip
    assert record["infra"].startswith("kubernetes")
    pods = fake_k8s.call(lambda: list(fake_k8s.cluster.pods.values()))
    assert not [p for p in pods if "styx-id" in (p["metadata"].get("labels") or {})]
