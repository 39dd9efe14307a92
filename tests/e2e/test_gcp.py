"""`styx launch` end to end on GCP (fake GCE REST server): VMs reached through ssh_proxy_command."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, Nodes, base_env, cloud_section, write_config
from tests.e2e.scenario import CloudHooks, walk
from tests.fakes.gcp.backend import FakeGCE
from tests.fakes.gcp.server import start_fake_gce

PROJECT = "styx-e2e"


@pytest.fixture(scope="module")
def gce() -> Iterator[FakeGCE]:
    with start_fake_gce(PROJECT) as fake:
        yield fake


def gcp_section(fake: FakeGCE) -> dict[str, object]:
    return {
        "api_endpoint": fake.base_url,
        "anonymous_credentials": True,
        "project_id": fake.project,
        "retry_base_s": 0.005,
        "retry_cap_s": 0.02,
    }


@pytest.fixture
def cli(gce: FakeGCE, nodes: Nodes, styx_home: Path, tmp_path: Path) -> Cli:
    write_config(styx_home, {"gcp": cloud_section(nodes, **gcp_section(gce))})
    return Cli(styx_home, base_env(styx_home, tmp_path))


def live_count(fake: FakeGCE, cluster: str) -> int:
    """Instances of the cluster a raw GET of the aggregated list shows (every zone)."""
    url = f"{fake.base_url}/compute/v1/projects/{fake.project}/aggregated/instances"
    with urllib.request.urlopen(url, timeout=10) as resp:
        data = json.load(resp)
    return sum(
        1
        for scoped in data.get("items", {}).values()
        for inst in scoped.get("instances", [])
        if inst.get("labels", {}).get("styx-cluster") == cluster
    )


def test_launch_exec_stop_start_down(cli: Cli, nodes: Nodes, gce: FakeGCE) -> None:
    hooks = CloudHooks(live_count=lambda c, _region: live_count(gce, c))
    walk(cli, nodes, "gcp", hooks, ["--cpus", "2"])
