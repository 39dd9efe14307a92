"""Node access, part of the provider contract: for every provider, ``cluster_access`` on a gang it
provisioned gives runners that run commands on those very nodes, and NodeSpecs that tell the
head's agent how to reach each one.

The clouds run for real against their fakes (AWS on moto, GCP and Azure on the wire-level fakes);
their instances are reached through ``ssh_proxy_command`` (``map_proxy.py``), which hands each
new public IP the next free sshd node on 127.0.0.1. SSH pools are those same sshd nodes; the
Kubernetes fake runs its pods as folders on this machine and execs into them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from styx.agent.nodes import NodeKind
from styx.providers import registry
from styx.providers.access import ClusterAccess
from styx.providers.base import CloudProvider, ProvisionRequest
from styx.providers.instance import Instance
from tests.e2e.clouds import AWS_IMAGE, aws_section, azure_section, gcp_section
from tests.e2e.conftest import (  # noqa: F401 - fixtures used by name
    Nodes,
    _stop_ssh_masters,
    arm,
    cloud_section,
    gce,
    moto,
    nodes,
    sshd_nodes,
    write_config,
)

CLUSTER = "access"
# Prints what tells one node from another: its home, the pod's host name, the sshd node's name.
PROBE = 'echo "home=$HOME host=${HOSTNAME:-} node=${STYX_NODE:-}"'


@dataclass
class Harness:
    provider: CloudProvider
    request: ProvisionRequest
    worker_kind: NodeKind
    # What PROBE must print on the node that runs ``inst`` (asked after the command ran, since
    # the proxy map assigns sshd nodes on first dial).
    expected: Callable[[Instance], str]


def _gcp_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"NO_GCE_CHECK": "true", "GCE_METADATA_HOST": "127.0.0.1:9",
                        "GCE_METADATA_IP": "127.0.0.1:9"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    (tmp_path / "gcloud").mkdir()
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))


def _cloud(name: str, section: dict[str, Any], vms: Nodes, home: Path, **request: Any) -> Harness:
    """A VM cloud: its config section (as `styx` reads it) plus the proxy to the sshd nodes."""
    full = cloud_section(vms, **section)
    write_config(home, {name: full})
    provider = registry.get_provider(name)
    return Harness(
        provider,
        ProvisionRequest(cluster_name=CLUSTER, **request),
        NodeKind.SSH,
        lambda inst: f"node={vms.node_for(str(inst.public_ip)).name}",
    )


@pytest.fixture
def harness(
    request: pytest.FixtureRequest,
    styx_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Harness]:
    name: str = request.param
    if name == "local":
        from styx.providers.local.provider import LocalProvider

        local = LocalProvider()
        yield Harness(
            local,
            ProvisionRequest(cluster_name=CLUSTER, instance_type="local-1cpu"),
            NodeKind.LOCAL,
            lambda inst: f"home={local.home_dir(inst.id)} ",
        )
    elif name == "ssh":
        pool: Nodes = request.getfixturevalue("nodes")
        pool.cluster.write_pools(styx_home)
        ssh = registry.get_provider("ssh")
        types = asyncio.run(ssh.list_instance_types("testpool"))
        yield Harness(
            ssh,
            ProvisionRequest(cluster_name=CLUSTER, instance_type=types[0].name, region="testpool"),
            NodeKind.SSH,
            lambda inst: (
                "node=" + next(n.name for n in pool.cluster.nodes if n.port == inst.ssh_port)
            ),
        )
    elif name == "kubernetes":
        from tests.fakes.kubernetes.server import FakeKubeServer

        with FakeKubeServer() as server:
            config = server.write_kubeconfig(tmp_path / "kubeconfig", contexts=("fake",))
            monkeypatch.setenv("KUBECONFIG", str(config))
            k8s = registry.get_provider("kubernetes", schedule_timeout_s=5.0)
            yield Harness(
                k8s,
                ProvisionRequest(cluster_name=CLUSTER, instance_type="small"),
                NodeKind.K8S,
                lambda inst: f"host={str(inst.native_id).partition('/')[2]} ",
            )
            asyncio.run(k8s.close())
    elif name == "aws":
        from tests.fakes.aws.moto_server import aws_env

        server = request.getfixturevalue("moto")
        server.reset()
        for key, value in aws_env(server).items():
            monkeypatch.setenv(key, value)
        yield _cloud(
            "aws", aws_section(), request.getfixturevalue("nodes"), styx_home,
            instance_type="m5.large", image_id=AWS_IMAGE,
        )  # fmt: skip
    elif name == "gcp":
        _gcp_env(monkeypatch, tmp_path)
        yield _cloud(
            "gcp", gcp_section(request.getfixturevalue("gce")),
            request.getfixturevalue("nodes"), styx_home,
            instance_type="e2-standard-2", region="us-central1",
        )  # fmt: skip
    elif name == "azure":
        yield _cloud(
            "azure", azure_section(request.getfixturevalue("arm")),
            request.getfixturevalue("nodes"), styx_home,
            instance_type="Standard_D2s_v3", region="eastus",
        )  # fmt: skip


def _needs_sshd(name: str) -> Any:
    needs = name not in ("local", "kubernetes")
    missing = not (shutil.which("sshd") or os.path.exists("/usr/sbin/sshd"))
    return pytest.param(
        name, marks=pytest.mark.skipif(needs and missing, reason="needs OpenSSH sshd"), id=name
    )


PROVIDERS = [_needs_sshd(n) for n in ("local", "ssh", "aws", "gcp", "azure", "kubernetes")]


async def _probe_all(access: ClusterAccess) -> list[str]:
    outputs = []
    for node in access.nodes:
        outputs.append((await node.runner.check_output(PROBE)).strip())
    return outputs


@pytest.mark.parametrize("harness", PROVIDERS, indirect=True)
def test_runners_reach_each_provisioned_node(harness: Harness) -> None:
    provider = harness.provider

    async def scenario() -> None:
        instances = await provider.provision_many(harness.request, 2)
        try:
            # The provider's own method, and the registry's path (used by `exec`: for VM clouds
            # it must not need the provider at all, so creating one here would be a failure).
            def no_provider(name: str) -> CloudProvider:
                raise AssertionError(f"{name}: the registry created the provider")

            entry = registry.PROVIDERS[provider.name]
            via_registry = await registry.cluster_access(
                provider.name,
                CLUSTER,
                instances,
                no_provider if entry.node_access else (lambda _name: provider),
            )
            for access in (await provider.cluster_access(CLUSTER, instances), via_registry):
                try:
                    await _check(access, instances, harness)
                finally:
                    await access.close()
        finally:
            for inst in instances:
                await provider.terminate(inst.id)

    asyncio.run(scenario())


async def _check(access: ClusterAccess, instances: list[Instance], harness: Harness) -> None:
    assert access.cluster_name == CLUSTER
    assert [n.instance.node_rank for n in access.nodes] == [0, 1]
    assert {n.instance.id for n in access.nodes} == {i.id for i in instances}
    # The head runs its own rank itself; workers are reached the provider's way.
    assert access.head.spec.kind is NodeKind.LOCAL
    assert access.nodes[1].spec.kind is harness.worker_kind
    for node in access.nodes:
        assert node.spec.rank == node.instance.node_rank
        assert node.spec.instance_id == node.instance.id
        assert node.runner.label == ("head" if node.spec.rank == 0 else "worker1")
    outputs = await _probe_all(access)
    for node, out in zip(access.nodes, outputs, strict=True):
        assert harness.expected(node.instance) in out + " ", (node.instance, out)
    assert outputs[0] != outputs[1], "both runners reached the same node"
    # A failing command is the command's exit code, not an exception.
    assert await access.head.runner.run("exit 3") == 3


def test_local_head_runs_the_agent_in_this_python(styx_home: Path) -> None:
    from styx.providers.local.provider import LocalProvider

    local = LocalProvider()

    async def scenario() -> None:
        [inst] = await local.provision_many(
            ProvisionRequest(cluster_name=CLUSTER, instance_type="local-1cpu"), 1
        )
        access = await local.cluster_access(CLUSTER, [inst])
        try:
            assert not access.installs_runtime
            python = await access.agent_python()
            out = await access.head.runner.check_output(f"{python} -c 'import styx.agent'; echo ok")
            assert out.strip() == "ok"
        finally:
            await access.close()
            await local.terminate(inst.id)

    asyncio.run(scenario())


def test_reaching_cloud_vms_imports_no_cloud_sdk(styx_home: Path) -> None:
    """`exec` on an up cloud cluster builds its node access without the provider's SDK."""
    script = """
import asyncio, sys
from styx.providers.instance import Instance, InstanceId, InstanceState, ProviderType
from styx.providers.registry import cluster_access

for cloud in ("aws", "gcp", "azure"):
    insts = [Instance(InstanceId(f"i{r}"), ProviderType(cloud), "c", "t", InstanceState.RUNNING,
                      public_ip=f"54.0.0.{r + 1}", private_ip=f"10.0.0.{r + 1}", node_rank=r,
                      ssh_user="ubuntu") for r in range(2)]
    access = asyncio.run(cluster_access(cloud, "c", insts))
    assert [n.spec.kind.value for n in access.nodes] == ["local", "ssh"], cloud
sdks = ("boto3", "botocore", "google.cloud.compute_v1", "azure.mgmt.compute")
print(sorted(m for m in sdks if m in sys.modules))
"""
    env = {**os.environ, "STYX_HOME": str(styx_home)}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
