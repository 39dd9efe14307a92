"""Autostop on the Azure fake: the head deallocates its 2-node cluster with its VM's managed
identity (DefaultAzureCredential on the head, through tests/fakes/azure/identity.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cost.conftest import WHEELHOUSE, require_head_wheels
from tests.e2e.clouds import azure_section
from tests.e2e.conftest import Cli, Nodes, base_env, cloud_section, write_config
from tests.fakes.azure.identity import FakeManagedIdentity
from tests.fakes.azure.server import FakeArmServer

pytestmark = pytest.mark.slow


@pytest.fixture
def identity(arm: FakeArmServer) -> Iterator[FakeManagedIdentity]:
    server = FakeManagedIdentity(arm.arm).start()
    yield server
    server.stop()


@pytest.fixture
def cli(
    arm: FakeArmServer, identity: FakeManagedIdentity, nodes: Nodes, styx_home: Path,
    tmp_path: Path,
) -> Iterator[Cli]:  # fmt: skip
    require_head_wheels()
    write_config(
        styx_home,
        {
            "azure": cloud_section(nodes, **azure_section(arm)),
            "autostop": {"check_interval_s": 0.3},
            "runtime": {"wheelhouse": str(WHEELHOUSE)},
        },
    )
    for node in nodes.cluster.nodes:
        (node.dir / "vm.env").write_text(
            f"export IDENTITY_ENDPOINT={identity.url} IDENTITY_HEADER={identity.header} "
            f"AZURE_CONFIG_DIR={node.dir / 'no-az-cli'}\n"
        )
    yield Cli(styx_home, base_env(styx_home, tmp_path))
    for node in nodes.cluster.nodes:
        (node.dir / "vm.env").unlink(missing_ok=True)


def _powers(arm: FakeArmServer, cluster: str) -> list[str]:
    fake = arm.arm
    with fake.lock:
        return sorted(
            fake.vm_power.get(key, "?")
            for key, r in fake.resources.items()
            if r["type"] == "Microsoft.Compute/virtualMachines"
            and (r.get("tags") or {}).get("styx-cluster") == cluster
        )


def test_idle_head_deallocates_both_vms(
    cli: Cli, arm: FakeArmServer, identity: FakeManagedIdentity
) -> None:
    cli("launch", "-y", "-c", "idle-az", "--infra", "azure/eastus", "--num-nodes", "2",
        "--cpus", "2", "-i", "0.05", "echo hi", timeout=300)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _powers(arm, "idle-az") != ["deallocated"] * 2:
        time.sleep(0.5)
    assert _powers(arm, "idle-az") == ["deallocated", "deallocated"]
    assert identity.tokens_issued > 0  # the head acted as its VM's managed identity
    assert "STOPPED" in cli("status", "-r", "idle-az").stdout
    cli("down", "-y", "idle-az")
