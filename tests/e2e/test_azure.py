"""`styx launch` end to end on Azure (fake ARM over HTTPS), VMs reached via ssh_proxy_command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.clouds import azure_live, azure_section
from tests.e2e.conftest import Cli, Nodes, base_env, cloud_section, write_config
from tests.e2e.scenario import CloudHooks, walk
from tests.fakes.azure.server import FakeArmServer


@pytest.fixture
def cli(arm: FakeArmServer, nodes: Nodes, styx_home: Path, tmp_path: Path) -> Cli:
    write_config(styx_home, {"azure": cloud_section(nodes, **azure_section(arm))})
    return Cli(styx_home, base_env(styx_home, tmp_path))


def test_launch_exec_stop_start_down(cli: Cli, nodes: Nodes, arm: FakeArmServer) -> None:
    hooks = CloudHooks(live_count=lambda c, _region: azure_live(arm, c))
    # The fake serves three regions; the shipped catalog's cheapest 2-vCPU offer is in eastus.
    walk(cli, nodes, "azure/eastus", hooks, ["--cpus", "2"])
