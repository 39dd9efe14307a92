"""The CLI walk every cloud goes through: a 2-node launch, status -r, exec, queue, logs,
stop/start, down; the cloud itself (never Styx) is asked what is alive."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.e2e.conftest import Cli, Nodes, power_off
from tests.fakes.sshd.map_proxy import release

RUN = "echo rank=$STYX_NODE_RANK ips=$(echo $STYX_NODE_IPS | tr ' ' ,) node=$STYX_NODE"


@dataclass
class CloudHooks:
    """What the scenario needs to ask the cloud itself (never through Styx)."""

    # Live (not terminated) instances of a cluster, asked in the region Styx launched in.
    live_count: Callable[[str, str], int]


def _instances(cli: Cli, cluster: str) -> list[dict[str, Any]]:
    """The instances Styx saved for the cluster (the test's own state, or an API server's), by
    rank."""
    from tests.conftest import state_of

    store = state_of(cli.home, cli.db_url)
    try:
        insts = sorted(store.instances(cluster), key=lambda i: i.node_rank)
    finally:
        store.close()
    return [i.to_dict() for i in insts]


def _lines(out: str) -> list[str]:
    return out.splitlines()


def walk(
    cli: Cli,
    nodes: Nodes,
    cloud: str,
    hooks: CloudHooks,
    launch_args: list[str],
    *,
    stop_start: bool = True,
    while_up: Callable[[str], None] | None = None,
) -> None:
    """``cli.home``: where the cluster's state lives (the client's, or an API server's).
    ``stop_start=False`` leaves out the stop/start leg; ``while_up(cluster)`` runs once the
    cluster is up."""
    name = f"e2e-{cloud.split('/')[0]}"
    out = cli("launch", "-y", "-c", name, "--infra", cloud, "--num-nodes", "2", *launch_args, RUN)
    insts = _instances(cli, name)
    assert [i["node_rank"] for i in insts] == [0, 1]
    # The shipped snapshot is older than catalog.max_age_days (180): a real launch says so too.
    assert "run `styx catalog refresh`" in out.stdout + out.stderr, out
    publics = [str(i["public_ip"]) for i in insts]
    privates = [str(i["private_ip"]) for i in insts]
    region = str(insts[0]["region"])
    assert all(ip and ip != "None" for ip in publics + privates), insts
    ips = ",".join(privates)
    # Each rank ran on the sshd node the proxy gave its instance's public IP; the worker was
    # reached by the head through worker_ssh_proxy_command.
    head, worker = nodes.node_for(publics[0]), nodes.node_for(publics[1])
    assert head != worker
    assert f"(head, {privates[0]}) rank=0 ips={ips} node={head.name}" in _lines(out.stdout), out
    assert f"(worker1, {privates[1]}) rank=1 ips={ips} node={worker.name}" in _lines(out.stdout)
    assert (head.home / ".styx" / "runtime" / "venv" / "bin" / "python").exists()

    status = cli("status", "-r", name).stdout
    assert name in status and "UP" in status, status
    assert hooks.live_count(name, region) == 2
    if while_up is not None:
        while_up(name)

    out = cli("exec", name, "echo exec-$STYX_NODE_RANK-on-$STYX_NODE")
    assert f"(head, {privates[0]}) exec-0-on-{head.name}" in _lines(out.stdout), out
    assert f"(worker1, {privates[1]}) exec-1-on-{worker.name}" in _lines(out.stdout), out

    queue = json.loads(cli("queue", name, "--json").stdout)
    assert [(j["job_id"], j["status"]) for j in queue] == [(1, "SUCCEEDED"), (2, "SUCCEEDED")]

    logs = cli("logs", name, "1").stdout
    assert f"(worker1, {privates[1]}) rank=1 ips={ips} node={worker.name}" in _lines(logs), logs

    if stop_start:
        _stop_start(cli, nodes, hooks, name, region, (publics, privates), (head, worker))

    cli("down", "-y", name)
    assert hooks.live_count(name, region) == 0
    assert "No existing clusters." in cli("status").stdout


def _stop_start(
    cli: Cli,
    nodes: Nodes,
    hooks: CloudHooks,
    name: str,
    region: str,
    ips: tuple[list[str], list[str]],
    pair: tuple[Any, Any],
) -> None:
    (publics, privates), (head, worker) = ips, pair
    cli("stop", "-y", name)
    status = cli("status", "-r", name).stdout
    assert "STOPPED" in status, status
    assert hooks.live_count(name, region) == 2  # stopped, not gone
    for node in nodes.cluster.nodes:
        power_off(node.home)  # the agent, its daemon, the head's SSH masters: gone with the VM
    # A stopped VM gives up its public IP (AWS, Azure dynamic IPs, GCP ephemeral ones): free the
    # nodes, the head's first. `start` reaches the head (setup) before anything reaches the
    # worker (the head, at the next job), so each new address leads back to its VM's node.
    release(nodes.map_file, publics)
    cli("start", "-y", name)
    status = cli("status", "-r", name).stdout
    assert "UP" in status, status
    out = cli("exec", name, "echo after-start-$STYX_NODE")
    restarted = [str(i["public_ip"]) for i in _instances(cli, name)]
    assert [nodes.node_for(ip) for ip in restarted] == [head, worker]
    assert f"(head, {privates[0]}) after-start-{head.name}" in _lines(out.stdout), out
    assert f"(worker1, {privates[1]}) after-start-{worker.name}" in _lines(out.stdout), out
    queue = json.loads(cli("queue", name, "--json").stdout)
    assert len(queue) == 3 and queue[-1]["status"] == "SUCCEEDED"
