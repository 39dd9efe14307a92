"""The runtime wheel built from the running package, and its install on a real node."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

from styx.execution.ssh.filesync import rsync_filters
from styx.execution.ssh.runner import SSHCommandRunner
from styx.execution.ssh.target import MemoryHostKeys, SSHTarget
from styx.runtime.install import HeadFiles, ensure_runtime
from styx.runtime.wheel import ensure_wheel
from tests.fakes.sshd.nodes import FakeCluster


def test_wheel_holds_the_package_and_is_cached(styx_home: Path) -> None:
    first = ensure_wheel()
    names = zipfile.ZipFile(first.path).namelist()
    assert "styx/agent/__main__.py" in names and "styx/execution/ssh/access.py" in names
    assert f"styx-{first.version}.dist-info/RECORD" in names
    assert not any(n.endswith(".pyc") for n in names)
    mtime = first.path.stat().st_mtime
    again = ensure_wheel()
    assert again.tag == first.tag and again.path.stat().st_mtime == mtime


def test_rsync_filters_follow_git_order() -> None:
    assert rsync_filters([".git/", "data/", "*.log", "!keep.log", "a/b.txt"]) == [
        "- /a/b.txt",
        "+ keep.log",
        "- *.log",
        "- data/",
        "- .git/",
    ]


def test_install_once_then_skip_then_reinstall_on_new_code(
    clean_nodes: FakeCluster, styx_home: Path
) -> None:
    node = clean_nodes.nodes[2]
    target = SSHTarget("127.0.0.1", node.port, "root", str(clean_nodes.client_key))
    wheel = ensure_wheel()
    venv_python = node.home / ".styx" / "runtime" / "venv" / "bin" / "python"

    async def go() -> None:
        runner = SSHCommandRunner(target, MemoryHostKeys())
        files = HeadFiles()
        files.add("~/.styx/keys/k", "secret-key")
        python = await ensure_runtime(runner, wheel, files)
        lines: list[str] = []
        code = await runner.run(
            f"{python} -c 'import styx, sys; print(styx.__version__, sys.prefix)'",
            on_output=lines.append,
        )
        assert code == 0 and lines[0].split()[0] == wheel.version
        assert lines[0].split()[1] == str(node.home / ".styx" / "runtime" / "venv")
        key = node.home / ".styx" / "keys" / "k"
        assert key.read_text().strip() == "secret-key" and key.stat().st_mode & 0o777 == 0o600
        stamp = venv_python.stat().st_mtime_ns
        await ensure_runtime(runner, wheel, HeadFiles())  # same tag: nothing reinstalled
        assert venv_python.stat().st_mtime_ns == stamp
        changed = type(wheel)(wheel.path, wheel.version, "0" * 16)
        await ensure_runtime(runner, changed, HeadFiles())
        assert (node.home / ".styx" / "runtime" / "installed").read_text().strip() == changed.tag
        await runner.close()

    asyncio.run(go())
