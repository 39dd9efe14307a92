"""SSHCommandRunner against real sshd nodes: commands, streaming, stdin, sync, keys, proxy."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest

from styx.errors import ClusterError
from styx.execution.ssh.runner import SSHCommandRunner
from styx.execution.ssh.target import MemoryHostKeys, SSHTarget, substitute
from tests.fakes.sshd.nodes import FakeCluster, free_port

MAP_PROXY = Path(__file__).resolve().parent.parent / "fakes" / "sshd" / "map_proxy.py"


def _runner(
    cluster: FakeCluster, i: int = 0, host_keys: MemoryHostKeys | None = None
) -> SSHCommandRunner:
    node = cluster.nodes[i]
    target = SSHTarget("127.0.0.1", node.port, "root", str(cluster.client_key), instance_id=f"i{i}")
    return SSHCommandRunner(target, host_keys or MemoryHostKeys())


def test_run_env_stdin_exit_code_and_streaming(clean_nodes: FakeCluster) -> None:
    async def go() -> None:
        runner = _runner(clean_nodes)
        seen: list[tuple[float, str]] = []
        start = time.monotonic()
        code = await runner.run(
            'echo "$FOO"; pwd; cat; echo err >&2; sleep 2; echo late; exit 3',
            env={"FOO": "a b'c"},
            on_output=lambda line: seen.append((time.monotonic() - start, line)),
            stdin=b"from-stdin\n",
        )
        lines = [line for _, line in seen]
        assert code == 3
        assert lines == [
            "a b'c\n",
            f"{clean_nodes.nodes[0].home}\n",
            "from-stdin\n",
            "err\n",
            "late\n",
        ]
        # 2 s between the first and the last line; a 1 s gap leaves room for a loaded machine.
        assert seen[0][0] < seen[-1][0] - 1.0, "output must stream, not arrive at the end"
        # many channels over the one connection, concurrently
        results = await asyncio.gather(*(runner.run(f"exit {i}") for i in range(8)))
        assert results == list(range(8))
        conn = await runner.connection()
        assert conn is await runner.connection()
        await runner.close()

    asyncio.run(go())


@pytest.mark.parametrize("method", ["rsync", "sftp"])
def test_put_folder_incremental_with_ignores(
    clean_nodes: FakeCluster, tmp_path: Path, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYX_SSH_SYNC", method)
    src = tmp_path / "wd"
    (src / "pkg").mkdir(parents=True)
    (src / "data").mkdir()
    (src / "main.py").write_text("print(1)\n")
    (src / "pkg" / "mod.py").write_text("x = 1\n")
    (src / "data" / "big.bin").write_text("ignored\n")
    (src / "debug.log").write_text("ignored\n")
    (src / "keep.log").write_text("kept\n")
    (src / ".gitignore").write_text("data/\n*.log\n!keep.log\n")
    home = clean_nodes.nodes[1].home

    async def go() -> None:
        runner = _runner(clean_nodes, 1)
        await runner.put(src, "~/sky_workdir")
        got = sorted(
            p.relative_to(home / "sky_workdir").as_posix()
            for p in (home / "sky_workdir").rglob("*")
            if p.is_file()
        )
        assert got == [".gitignore", "keep.log", "main.py", "pkg/mod.py"]
        # incremental: change one file, delete one; a stray remote file goes away too
        (src / "main.py").write_text("print(2)\n")
        later = time.time() + 5  # same size: only the mtime tells (rsync's quick check)
        os.utime(src / "main.py", (later, later))
        (src / "pkg" / "mod.py").unlink()
        (home / "sky_workdir" / "stray.txt").write_text("x")
        await runner.put(src, "~/sky_workdir")
        assert (home / "sky_workdir" / "main.py").read_text() == "print(2)\n"
        assert not (home / "sky_workdir" / "pkg" / "mod.py").exists()
        assert not (home / "sky_workdir" / "stray.txt").exists()
        # a single file into a new folder
        await runner.put(src / "keep.log", "~/mounts/deep/k.log")
        assert (home / "mounts" / "deep" / "k.log").read_text() == "kept\n"
        await runner.close()

    asyncio.run(go())


def test_host_key_pinned_and_change_is_clear_error(clean_nodes: FakeCluster) -> None:
    keys = MemoryHostKeys()

    async def go() -> None:
        first = _runner(clean_nodes, 0, host_keys=keys)
        assert await first.run("true") == 0
        await first.close()
        pinned = keys.get("i0")
        assert pinned and pinned.split()[1] == clean_nodes.nodes[0].host_key_pub.split()[1]
        # the same instance id now answered by another host (key): refused, not retried
        node2 = clean_nodes.nodes[1]
        target = SSHTarget(
            "127.0.0.1",
            node2.port,
            "root",
            str(clean_nodes.client_key),
            instance_id="i0",
            connect_timeout_s=30,
        )
        start = time.monotonic()
        with pytest.raises(ClusterError, match="host key changed"):
            await SSHCommandRunner(target, keys).run("true")
        assert time.monotonic() - start < 25  # refused at the host key, not after the 30 s

    asyncio.run(go())


def test_connect_timeout_is_bounded() -> None:
    target = SSHTarget("127.0.0.1", free_port(), "root", None, connect_timeout_s=1.5)
    start = time.monotonic()
    with pytest.raises(ClusterError, match=r"cannot connect over SSH within 1\.5s"):
        asyncio.run(SSHCommandRunner(target).run("true"))
    assert time.monotonic() - start < 15  # 1.5 s connect timeout, ten times over for load


def test_proxy_command_substitution_and_use(clean_nodes: FakeCluster, tmp_path: Path) -> None:
    assert substitute("nc %h %p # %r %%", "h", 22, "u") == "nc h 22 # u %"
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"node-b.styx.invalid": clean_nodes.nodes[1].port}))
    proxy = f"{sys.executable} {MAP_PROXY} %h %p {mapping}"
    target = SSHTarget(
        "node-b.styx.invalid", 22, "root", str(clean_nodes.client_key), proxy_command=proxy
    )

    async def go() -> list[str]:
        runner = SSHCommandRunner(target)
        lines: list[str] = []
        assert await runner.run("echo $STYX_NODE", on_output=lines.append) == 0
        await runner.close()
        return lines

    assert asyncio.run(go()) == ["node2\n"]
