"""`styx launch` end to end on Azure (fake ARM over HTTPS): VMs reached through ssh_proxy_command."""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, Nodes, base_env, cloud_section, write_config
from tests.e2e.scenario import CloudHooks, walk
from tests.fakes.azure.server import FakeArmServer
from tests.fakes.azure.state import FakeArm

SUBSCRIPTION = "00000000-0000-0000-0000-0000000e2e00"
TOKEN = "styx-e2e-token"


@pytest.fixture(scope="module")
def arm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeArmServer]:
    server = FakeArmServer(FakeArm(SUBSCRIPTION, TOKEN), tmp_path_factory.mktemp("arm-tls"))
    server.start()
    yield server
    server.stop()


def azure_section(server: FakeArmServer) -> dict[str, object]:
    return {
        "subscription_id": SUBSCRIPTION,
        "base_url": server.url,
        "access_token": TOKEN,
        "ca_bundle": str(server.cert_path),
        "polling_interval_s": 0,
        "retry_base_s": 0.01,
        "credential_timeout_s": 3,
    }


@pytest.fixture
def cli(arm: FakeArmServer, nodes: Nodes, styx_home: Path, tmp_path: Path) -> Cli:
    write_config(styx_home, {"azure": cloud_section(nodes, **azure_section(arm))})
    return Cli(styx_home, base_env(styx_home, tmp_path))


def live_count(server: FakeArmServer, cluster: str) -> int:
    """VMs of the cluster a raw GET of the subscription's VM list shows (every group)."""
    url = (
        f"{server.url}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Compute/virtualMachines"
        "?api-version=2024-07-01"
    )
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    ctx = ssl.create_default_context(cafile=str(server.cert_path))
    with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
        data = json.load(resp)
    return sum(1 for vm in data["value"] if (vm.get("tags") or {}).get("styx-cluster") == cluster)


def test_launch_exec_stop_start_down(cli: Cli, nodes: Nodes, arm: FakeArmServer) -> None:
    hooks = CloudHooks(live_count=lambda c, _region: live_count(arm, c))
    # The fake serves three regions; the shipped catalog's cheapest 2-vCPU offer is in eastus.
    walk(cli, nodes, "azure/eastus", hooks, ["--cpus", "2"])
