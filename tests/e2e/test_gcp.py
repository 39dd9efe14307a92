"""`styx launch` end to end on GCP (fake GCE REST server): VMs reached through ssh_proxy_command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.clouds import gcp_live, gcp_section
from tests.e2e.conftest import Cli, Nodes, base_env, cloud_section, write_config
from tests.e2e.scenario import CloudHooks, walk
from tests.fakes.gcp.backend import FakeGCE


@pytest.fixture
def cli(gce: FakeGCE, nodes: Nodes, styx_home: Path, tmp_path: Path) -> Cli:
    write_config(styx_home, {"gcp": cloud_section(nodes, **gcp_section(gce))})
    return Cli(styx_home, base_env(styx_home, tmp_path))


def test_launch_exec_stop_start_down(cli: Cli, nodes: Nodes, gce: FakeGCE) -> None:
    hooks = CloudHooks(live_count=lambda c, _region: gcp_live(gce, c))
    walk(cli, nodes, "gcp", hooks, ["--cpus", "2"])
