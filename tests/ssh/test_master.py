"""The client-side OpenSSH ControlMaster: commands through it, fallback, host keys, down."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from styx.errors import ClusterError
from styx.execution.ssh import master
from styx.execution.ssh.runner import SSHCommandRunner
from styx.execution.ssh.target import MemoryHostKeys, SSHTarget
from tests.fakes.sshd.nodes import FakeCluster
from tests.ssh.test_e2e import styx


def _target(cluster: FakeCluster, i: int = 0, iid: str = "m0") -> SSHTarget:
    node = cluster.nodes[i]
    return SSHTarget(
        "127.0.0.1",
        node.port,
        "root",
        str(cluster.client_key),
        instance_id=iid,
        control_persist="2m",
    )


def _accepted(cluster: FakeCluster) -> int:
    """SSH connections the nodes' sshd accepted so far (every handshake logs one line)."""
    return sum((n.dir / "sshd.log").read_text().count("Accepted publickey") for n in cluster.nodes)


def _master_processes(paths: list[Path]) -> list[str]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cmd.startswith("ssh ") and any(str(p) in cmd for p in paths):
            out.append(cmd)
    return out


def test_second_runner_goes_through_the_master(clean_nodes: FakeCluster) -> None:
    keys = MemoryHostKeys()

    async def go() -> None:
        first = SSHCommandRunner(_target(clean_nodes), keys)
        assert await first.run("true") == 0  # asyncssh: pins the key, starts the master
        await first.close()
        path = master.control_path(first.target, keys.keys["m0"])
        assert master.alive(path)
        assert len(str(path)) <= 90  # room for OpenSSH's temporary name in sun_path

        before = _accepted(clean_nodes)
        assert before > 0
        second = SSHCommandRunner(_target(clean_nodes), keys)
        lines: list[str] = []
        code = await second.run(
            'echo "$FOO"; cat; echo err >&2; exit 7',
            env={"FOO": "a b'c"},
            on_output=lines.append,
            stdin=b"from-stdin\n",
        )
        assert (code, lines) == (7, ["a b'c\n", "from-stdin\n", "err\n"])
        # a command's own 255 is its exit code, never mistaken for an ssh failure and re-run
        assert await second.run("echo x >> once.txt; exit 255") == 255
        assert (clean_nodes.nodes[0].home / "once.txt").read_text() == "x\n"
        big: list[str] = []  # a large stdin while output flows back: no pipe deadlock
        assert await second.run("cat", on_output=big.append, stdin=(b"y" * 99 + b"\n") * 5000) == 0
        assert sum(len(x) for x in big) == 500_000
        assert second.via_master == 3 and second._conn is None  # no asyncssh connection
        await second.close()
        assert _accepted(clean_nodes) == before  # no new handshake on the node

    asyncio.run(go())


def test_falls_back_to_asyncssh_when_the_master_is_gone(clean_nodes: FakeCluster) -> None:
    keys = MemoryHostKeys()

    async def go() -> None:
        first = SSHCommandRunner(_target(clean_nodes), keys)
        assert await first.run("true") == 0
        await first.close()
        path = master.control_path(first.target, keys.keys["m0"])
        master.stop(path)
        path.touch()  # a stale socket file left behind must be harmless
        assert not master.alive(path)

        again = SSHCommandRunner(_target(clean_nodes), keys)
        lines: list[str] = []
        assert await again.run("echo back", on_output=lines.append) == 0
        assert lines == ["back\n"] and again.via_master == 0 and again._conn is not None
        await again.close()
        assert master.alive(path)  # the fallback connection started a fresh master

    asyncio.run(go())


def test_host_key_mismatch_is_refused_on_the_openssh_path(clean_nodes: FakeCluster) -> None:
    wrong = clean_nodes.nodes[1].host_key_pub  # another node's key pinned for node 0
    keys = MemoryHostKeys()
    keys.pin("m0", wrong)
    target = _target(clean_nodes)

    async def go() -> None:
        known = master.known_hosts("m0", wrong)
        assert await master.start(target, known, wrong) is None
        path = master.control_path(target, wrong)
        assert not master.alive(path)
        log = path.parent / f"{path.name}.log"
        if log.exists():  # the socket may live in a short temp folder; the log stays in cm/
            text = log.read_text()
        else:
            text = (master.cm_dir() / f"{path.name}.log").read_text()
        assert "Host key verification failed" in text or "HOST IDENTIFICATION" in text
        runner = SSHCommandRunner(target, keys)
        with pytest.raises(ClusterError, match="host key changed"):
            await runner.run("true")
        await runner.close()

    asyncio.run(go())


def test_exec_uses_the_master_and_down_stops_it(pool: FakeCluster, styx_home: Path) -> None:
    styx(
        styx_home, "launch", "-y", "-c", "cm", "--infra", "ssh/testpool", "--num-nodes", "2", "true"
    )
    index = master.cm_dir() / "index"
    paths = [Path(line.split(" ", 1)[1]) for line in index.read_text().splitlines()]
    assert len(paths) == 2 and all(master.alive(p) for p in paths)
    assert len(_master_processes(paths)) == 2

    before = _accepted(pool)
    assert before > 0
    out = styx(styx_home, "exec", "cm", "echo exec-$STYX_NODE_RANK")
    assert "exec-0" in out.stdout and "exec-1" in out.stdout
    assert _accepted(pool) == before  # client via its master, head via the head's master

    styx(styx_home, "down", "-y", "cm")
    assert not any(master.alive(p) for p in paths)
    assert _master_processes(paths) == []
