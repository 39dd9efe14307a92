"""The SSH-pool walk on two real sshd nodes, through the CLI: launch with a workdir (its
ignore rules), setup, exec, a failing node, cancel (processes gone on both nodes), logs -f,
down (nothing left, hosts freed). Run in-process (tests/ssh/test_e2e.py) and through an API
server (tests/api/test_flows_ssh.py) with the same assertions."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.sshd.nodes import FakeCluster
from tests.ssh.test_e2e import _leftovers, _styx_procs


@dataclass
class PoolCli:
    """``styx`` as a subprocess with ``env``; ``state_home`` is the $STYX_HOME whose state
    (the pool's claims) the walk checks: the client's in-process, the server's through one."""

    env: dict[str, str]
    state_home: Path

    def __call__(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "styx.cli.main", *args],
            capture_output=True, text=True, timeout=timeout, env=self.env,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise AssertionError(
                f"styx {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "styx.cli.main", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip


def two_node_walk(
    cli: PoolCli, pool: FakeCluster, tmp_path: Path, while_up: Callable[[str], None] | None = None
) -> None:
    """``while_up(cluster)`` runs once the cluster is up (through a server: another user's
    view of it)."""
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / "hello.txt").write_text("from workdir\n")
    (wd / "secret.tmp").write_text("no\n")
    (wd / ".styxignore").write_text("*.tmp\n")
    task = tmp_path / "task.yaml"
    task.write_text(
        "num_nodes: 2\n"
        "resources: {infra: ssh/testpool}\n"
        f"workdir: {wd}\n"
        "setup: echo setup-ran-$STYX_NODE_RANK\n"
        "run: |\n"
        "  echo rank=$SKYPILOT_NODE_RANK ips=$(echo $STYX_NODE_IPS | tr ' ' ,) $(cat hello.txt)\n"
        "  ls\n"
    )
    out = cli("launch", "-y", "-c", "c1", str(task))
    lines = out.stdout.splitlines()
    assert "(head, 127.0.0.1) rank=0 ips=127.0.0.1,127.0.0.1 from workdir" in lines
    assert "(worker1, 127.0.0.1) rank=1 ips=127.0.0.1,127.0.0.1 from workdir" in lines
    assert not any("secret.tmp" in ln for ln in lines)  # .styxignore honoured
    assert "(head, 127.0.0.1) setup-ran-0" in lines and "(worker1, 127.0.0.1) setup-ran-1" in lines
    used = [n.home for n in pool.nodes if (n.home / "sky_workdir" / "hello.txt").exists()]
    assert len(used) == 2  # the workdir reached both nodes
    assert (used[0] / ".styx" / "runtime" / "venv" / "bin" / "python").exists()
    if while_up is not None:
        while_up("c1")

    # exec goes straight to the agent; the runtime is not reinstalled (same tag)
    installed = (used[0] / ".styx" / "runtime" / "installed").stat().st_mtime
    out = cli("exec", "c1", "echo exec-$STYX_NODE_RANK")
    assert "(head, 127.0.0.1) exec-0" in out.stdout and "(worker1, 127.0.0.1) exec-1" in out.stdout
    assert (used[0] / ".styx" / "runtime" / "installed").stat().st_mtime == installed

    # a failing node fails the job, naming the node and its exit code
    out = cli("exec", "c1", "[ $STYX_NODE_RANK = 1 ] && exit 7; echo ok", check=False)
    assert out.returncode == 7
    assert "worker1" in out.stderr and "exit code 7" in out.stderr

    # cancel a running job: its processes are gone on both nodes
    out = cli("exec", "-d", "c1", "echo started; sleep 345")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        running = [h for h in used if any("sleep 345" in c for c in _styx_procs(h))]
        if len(running) == 2:
            break
        time.sleep(0.2)
    assert len(running) == 2, "the job did not start on both nodes"
    queue = cli("queue", "c1").stdout
    assert "RUNNING" in queue
    logs = cli.popen("logs", "c1", "4")
    time.sleep(1.0)
    assert logs.poll() is None, "logs -f must follow a running job"
    cli("cancel", "-y", "c1", "4")
    logs_out, _ = logs.communicate(timeout=30)
    assert "(head, 127.0.0.1) started" in logs_out and "(worker1, 127.0.0.1) started" in logs_out
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        "sleep 345" in c for h in used for c in _styx_procs(h)
    ):
        time.sleep(0.2)
    assert not [c for h in used for c in _styx_procs(h) if "sleep 345" in c]
    assert "CANCELLED" in cli("queue", "c1").stdout

    # down leaves nothing on the hosts and frees them
    cli("down", "-y", "c1")
    assert _leftovers(pool) == {}
    assert json.loads((cli.state_home / "ssh" / "claims.json").read_text()) == {}
