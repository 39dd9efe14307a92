"""The CLI walk every cloud goes through: launch, status -r, exec, queue, logs, stop/start, down."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.conftest import Cli, Nodes
from tests.fakes.sshd.map_proxy import release

RUN = "echo rank=$STYX_NODE_RANK ips=$(echo $STYX_NODE_IPS | tr ' ' ,) node=$STYX_NODE"


@dataclass
class CloudHooks:
    """What the scenario needs to ask the cloud itself (never through Styx)."""

    # Live (not terminated) instances of a cluster, asked in the region Styx launched in.
    live_count: Callable[[str, str], int]


def _instances(home: Path, cluster: str) -> list[dict[str, object]]:
    """The instances Styx saved for the cluster (its state store, read-only)."""
    import os

    os.environ["STYX_HOME"] = str(home)  # already so in tests (autouse styx_home); explicit here
    from styx.state.store import open_store

    return [i.to_dict() for i in open_store().instances(cluster)]


def walk(cli: Cli, nodes: Nodes, cloud: str, hooks: CloudHooks, launch_args: list[str]) -> None:
    name = f"e2e-{cloud.split('/')[0]}"
    out = cli("launch", "-y", "-c", name, "--infra", cloud, *launch_args, RUN)
    insts = _instances(cli.home, name)
    assert len(insts) == 1
    inst = insts[0]
    public, private, region = str(inst["public_ip"]), str(inst["private_ip"]), str(inst["region"])
    assert public and private and public != "None"
    # The job ran on the sshd node the proxy gave the instance's public IP, as rank 0.
    node = nodes.node_for(public)
    assert f"rank=0 ips={private} node={node.name}" in out.stdout.splitlines(), out
    assert (node.home / ".styx" / "runtime" / "venv" / "bin" / "python").exists()

    status = cli("status", "-r", name).stdout
    assert name in status and "UP" in status, status
    assert hooks.live_count(name, region) == 1

    out = cli("exec", name, "echo exec-$STYX_NODE_RANK-on-$STYX_NODE")
    assert f"exec-0-on-{node.name}" in out.stdout.splitlines(), out

    queue = json.loads(cli("queue", name, "--json").stdout)
    assert [(j["job_id"], j["status"]) for j in queue] == [(1, "SUCCEEDED"), (2, "SUCCEEDED")]

    logs = cli("logs", name, "1").stdout
    assert f"rank=0 ips={private} node={node.name}" in logs, logs

    cli("stop", "-y", name)
    status = cli("status", "-r", name).stdout
    assert "STOPPED" in status, status
    # A stopped VM gives up its public IP (AWS, Azure dynamic IPs; GCP ephemeral ones): free
    # its node, the first in the pool, so whatever address the VM gets next leads back to it.
    assert node.port == nodes.cluster.nodes[0].port
    release(nodes.map_file, public)
    cli("start", "-y", name)
    restarted = _instances(cli.home, name)[0]
    assert nodes.node_for(str(restarted["public_ip"])) == node
    status = cli("status", "-r", name).stdout
    assert "UP" in status, status
    out = cli("exec", name, "echo after-start-$STYX_NODE")
    assert f"after-start-{node.name}" in out.stdout, out
    queue = json.loads(cli("queue", name, "--json").stdout)
    assert len(queue) == 3 and queue[-1]["status"] == "SUCCEEDED"

    cli("down", "-y", name)
    assert hooks.live_count(name, region) == 0
    assert "No existing clusters." in cli("status").stdout
