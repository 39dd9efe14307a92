"""Autostop on the GCP fake: the head stops its 2-node cluster as its VM's service account.

The head's google-auth finds the fake metadata server (tests/fakes/gcp/metadata.py) through
GCE_METADATA_HOST in the "VM"'s environment; its tokens are good for the fake GCE only while an
instance there was given a service account. A raw GET of the fake's API checks the result.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cost.conftest import WHEELHOUSE, require_head_wheels
from tests.e2e.clouds import gcp_section
from tests.e2e.conftest import Cli, Nodes, base_env, cloud_section, write_config
from tests.fakes.gcp.backend import FakeGCE
from tests.fakes.gcp.metadata import FakeMetadata

pytestmark = pytest.mark.slow


@pytest.fixture
def metadata(gce: FakeGCE) -> Iterator[FakeMetadata]:
    server = FakeMetadata(gce).start()
    yield server
    server.stop()


@pytest.fixture
def cli(
    gce: FakeGCE, metadata: FakeMetadata, nodes: Nodes, styx_home: Path, tmp_path: Path
) -> Iterator[Cli]:
    require_head_wheels()
    write_config(
        styx_home,
        {
            "gcp": cloud_section(nodes, **gcp_section(gce)),
            "autostop": {"check_interval_s": 0.3},
            "runtime": {"wheelhouse": str(WHEELHOUSE)},
        },
    )
    for node in nodes.cluster.nodes:
        (node.dir / "vm.env").write_text(
            f"export GCE_METADATA_HOST={metadata.host} GCE_METADATA_IP={metadata.host}\n"
        )
    yield Cli(styx_home, base_env(styx_home, tmp_path))
    for node in nodes.cluster.nodes:
        (node.dir / "vm.env").unlink(missing_ok=True)


def _statuses(gce: FakeGCE, cluster: str) -> list[str]:
    from tests.fakes.gcp.auth import access_token

    url = f"{gce.base_url}/compute/v1/projects/{gce.project}/aggregated/instances"
    token = access_token(gce.credentials_file)
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        data = json.load(resp)
    return sorted(
        inst["status"]
        for scoped in data.get("items", {}).values()
        for inst in scoped.get("instances", [])
        if inst.get("labels", {}).get("styx-cluster") == cluster
    )


def test_idle_head_stops_both_vms(cli: Cli, gce: FakeGCE, metadata: FakeMetadata) -> None:
    cli("launch", "-y", "-c", "idle-gcp", "--infra", "gcp", "--num-nodes", "2", "--cpus", "2",
        "-i", "0.05", "echo hi", timeout=300)  # fmt: skip
    inst = next(i for i in gce.instances.values() if "idle-gcp" in json.dumps(i.get("labels")))
    assert inst["serviceAccounts"][0]["email"] == "default"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if _statuses(gce, "idle-gcp") == ["TERMINATED"] * 2:
                break
        except OSError:  # the fake too busy to answer one poll (a loaded machine): poll again
            pass
        time.sleep(0.5)
    # GCE calls a stopped VM TERMINATED (its disk is kept).
    assert _statuses(gce, "idle-gcp") == ["TERMINATED", "TERMINATED"]
    assert metadata.tokens_issued > 0  # the head acted as its VM's service account
    assert "STOPPED" in cli("status", "-r", "idle-gcp").stdout
    cli("down", "-y", "idle-gcp")
