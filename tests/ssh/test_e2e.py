"""End to end through the CLI on an SSH pool of real sshd nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.sshd.nodes import FakeCluster

REPO = Path(__file__).resolve().parent.parent.parent
MAP_PROXY = REPO / "tests" / "fakes" / "sshd" / "map_proxy.py"


def styx(
    home: Path, *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["STYX_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"styx {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def _styx_procs(home: Path) -> list[str]:
    """Processes whose command line mentions the node's home (jobs, agents), sshd excluded."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            env = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        # The node's own sshd is not a leftover; match it by program name, not by the command
        # line (node homes live under a folder whose name contains "sshd").
        program = os.path.basename(cmd.split(" ", 1)[0])
        if program.startswith("sshd"):
            continue
        if str(home) in cmd or f"HOME={home}".encode() in env.split(b"\0"):
            out.append(cmd)
    return out


def _leftovers(cluster: FakeCluster) -> dict[str, list[str]]:
    return {
        n.name: sorted(p.name for p in n.home.iterdir()) + _styx_procs(n.home)
        for n in cluster.nodes
        if any(n.home.iterdir()) or _styx_procs(n.home)
    }


def test_two_node_job_exec_queue_logs_cancel_failure_down(
    pool: FakeCluster, styx_home: Path, tmp_path: Path
) -> None:
    from tests.ssh.pool_scenario import PoolCli, two_node_walk

    env = {
        **os.environ,
        "STYX_HOME": str(styx_home),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    two_node_walk(PoolCli(env, styx_home), pool, tmp_path)


def test_autostop_down_releases_hosts(pool: FakeCluster, styx_home: Path) -> None:
    # The head's agent checks every half second instead of every 10 s (a user setting).
    (styx_home / "config.yaml").write_text("autostop:\n  check_interval_s: 0.5\n")
    styx(
        styx_home,
        "launch",
        "-y",
        "-c",
        "auto",
        "--infra",
        "ssh/testpool",
        "--num-nodes",
        "2",
        "echo hi",
    )
    assert "auto" in styx(styx_home, "status", "-r").stdout
    styx(styx_home, "autostop", "auto", "-i", "0.02", "--down")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _leftovers(pool):
        time.sleep(0.3)
    assert _leftovers(pool) == {}
    status = styx(styx_home, "status", "-r").stdout
    assert "auto" not in status
    assert json.loads((styx_home / "ssh" / "claims.json").read_text()) == {}


def test_pool_behind_proxy_command(
    clean_nodes: FakeCluster, styx_home: Path, tmp_path: Path
) -> None:
    """Hosts with fake names reached only through ssh_proxy_command (client and head alike)."""
    import yaml

    mapping = tmp_path / "map.json"
    names = {f"10.250.0.{i + 1}": n.port for i, n in enumerate(clean_nodes.nodes[:2])}
    mapping.write_text(json.dumps(names))
    pools = {
        "proxied": {
            "user": "root",
            "identity_file": str(clean_nodes.client_key),
            "hosts": [{"ip": ip, "port": 22} for ip in names],
        }
    }
    (styx_home / "ssh_node_pools.yaml").write_text(yaml.safe_dump(pools))
    proxy = f"{sys.executable} {MAP_PROXY} %h %p {mapping}"
    (styx_home / "config.yaml").write_text(yaml.safe_dump({"ssh": {"ssh_proxy_command": proxy}}))
    out = styx(
        styx_home,
        "launch",
        "-y",
        "-c",
        "px",
        "--infra",
        "ssh/proxied",
        "--num-nodes",
        "2",
        "echo rank=$STYX_NODE_RANK node=$STYX_NODE",
    )
    assert "(head, 10.250.0.1) rank=0 node=node1" in out.stdout
    assert "(worker1, 10.250.0.2) rank=1 node=node2" in out.stdout
    styx(styx_home, "down", "-y", "px")
    assert _leftovers(clean_nodes) == {}
