"""Hostile paths, absurd sizes, private state and the CLI's one-line promise, end to end on the
local provider through the real CLI (subprocesses, temporary $STYX_HOME)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, styx_env
from tests.integration.test_local_cli import _state_snapshot, instance_dirs, styx


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("styx: error:"), lines[0]
    return lines[0]


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its content (to prove nothing changed there)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


# ---- paths that would leave the node's sandbox -----------------------------------------------


def test_mount_targets_outside_the_sandbox_are_refused_before_anything_is_made(
    styx_home: Path, tmp_path: Path
) -> None:
    keep = styx(styx_home, "launch", "-y", "-c", "keep1", "examples/hello.yaml")
    assert keep.returncode == 0, keep.stderr
    (keep_dir,) = instance_dirs(styx_home)
    keep_files = _tree(keep_dir)
    assert keep_files

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("mine")
    source_file = tmp_path / "payload.txt"
    source_file.write_text("payload")
    source_dir = tmp_path / "payload_dir"
    source_dir.mkdir()
    (source_dir / "p.txt").write_text("payload")
    depth = len(styx_home.parts) + 6  # enough '..' to reach '/' from any sandbox
    cases = [
        (f"~/../../{outside}/x", source_file),  # the "~/../../<dir>/x"
        ("../" * depth + f"{str(outside).lstrip('/')}/x", source_file),
        ("../../../../x", source_file),
        ("~/../..", source_dir),  # once deleted every local instance's files
        ("~/..", source_dir),
        ("~", source_dir),  # the home itself: a folder mount would mirror over it
        ("~/sub/../../x", source_file),
        (f"{outside}/x", source_file),  # absolute: no such place on a local node
        ("/etc/styx-test-x", source_file),
    ]
    for target, source in cases:
        task = tmp_path / "mount.yaml"
        task.write_text(
            f"resources: {{infra: local}}\nfile_mounts:\n  '{target}': '{source}'\nrun: 'true'\n"
        )
        before = _state_snapshot(styx_home)
        result = styx(styx_home, "launch", "-y", "-c", "evil", str(task))
        line = _one_line_error(result)
        assert result.returncode == 2, line
        assert "file_mounts" in line, line
        assert _state_snapshot(styx_home) == before, target  # no cluster, no instance
        assert _tree(outside) == {"precious.txt": b"mine"}, target
        assert not Path("/etc/styx-test-x").exists()
        assert _tree(keep_dir) == keep_files, target  # other clusters untouched

    status = styx(styx_home, "status", "--json")
    assert '"keep1"' in status.stdout and '"evil"' not in status.stdout
    assert styx(styx_home, "down", "-y", "keep1").returncode == 0


def test_resolve_refuses_every_way_out_of_the_sandbox(tmp_path: Path) -> None:
    import asyncio

    from styx.errors import ClusterError
    from styx.execution.runner import LocalRunner

    home = tmp_path / "node" / "home"
    home.mkdir(parents=True)
    (home / "out").symlink_to(tmp_path)  # a link a workdir may carry (copied as a link)
    runner = LocalRunner(home, "i-test")
    assert runner.resolve("~/data/x") == home.resolve() / "data" / "x"
    assert runner.resolve("rel/x") == home.resolve() / "rel" / "x"
    for remote in ("/etc/x", "~/../x", "../x", "~/a/../../x", "~/out/x", "~root/x", "~/out"):
        with pytest.raises(ClusterError):
            runner.resolve(remote)
    source = tmp_path / "src"
    source.mkdir()
    (source / "f").write_text("x")
    with pytest.raises(ClusterError, match="home itself"):
        asyncio.run(runner.put(source, "~"))
    assert sorted(p.name for p in home.iterdir()) == ["out"]


# ---- absurd sizes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["{task:1000000}"],
        ["{task:18446744073709551617}"],
        ["{task:1e308}"],
        ["{task:1.0e+308}"],
        ["{task:.inf}"],
        ["--num-nodes", "1000000", "examples/hello.yaml"],
    ],
)
def test_absurd_node_counts_are_refused_at_once(
    styx_home: Path, tmp_path: Path, args: list[str]
) -> None:
    nodes = args[0][len("{task:") : -1] if args[0].startswith("{task:") else "1"
    task = tmp_path / "big.yaml"
    task.write_text(f"num_nodes: {nodes}\nresources: {{infra: local}}\nrun: 'true'\n")
    argv = [str(task) if a.startswith("{task:") else a for a in args]
    start = time.monotonic()
    result = styx(styx_home, "launch", "-y", *argv)
    elapsed = time.monotonic() - start
    line = _one_line_error(result)
    assert "num_nodes" in line and result.returncode == 2, line
    assert not (styx_home / "state.db").exists() or _state_snapshot(styx_home) == ([], [])
    assert elapsed < 60  # a subprocess start on a loaded machine; the refusal itself is ~ms


# ---- private state -----------------------------------------------------------------------------


def _wide(path: Path) -> bool:
    return bool(path.lstat().st_mode & 0o077)


def test_styx_home_and_node_files_are_private(styx_home: Path) -> None:
    os.chmod(styx_home, 0o755)  # as older versions made it
    result = styx(styx_home, "launch", "-y", "-c", "priv", "examples/hello.yaml")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(styx_home.stat().st_mode) == 0o700
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        if (styx_home / name).exists():
            assert stat.S_IMODE((styx_home / name).stat().st_mode) == 0o600, name
    wide = []
    checked = 0
    for path in styx_home.rglob("*"):
        if path.is_symlink() or "sky_workdir" in path.parts:
            continue  # a workdir's files keep their own modes, as rsync -a copies them
        checked += 1
        if _wide(path):
            wide.append(f"{oct(stat.S_IMODE(path.lstat().st_mode))} {path}")
    assert not wide, wide
    # the agent's root, a job's spec and log are among what was checked
    names = {p.name for p in styx_home.rglob("*")}
    assert {"agent.db", "state.db"} <= names, sorted(names)[:50]
    assert checked > 10
    assert styx(styx_home, "down", "-y", "priv").returncode == 0


# ---- the CLI's one-line promise ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["autostop", "c1", "-i", "-5"],
        ["autostop", "c1", "-i", "nan"],
        ["autostop", "c1", "-i", "1e400"],
        ["launch", "-y", "-i", "-1", "examples/hello.yaml"],
        ["launch", "--no-such-option", "examples/hello.yaml"],
        ["launch", "-y", "-c", "x" * 300, "examples/hello.yaml"],
        ["launch", "-y", "--workdir", "x" * 300, "examples/hello.yaml"],
        ["launch", "-y", "y" * 300 + ".yaml"],
        ["exec", "ghost", "z" * 300],
        ["logs", "x" * 300],
        ["nosuchcommand"],
    ],
)
def test_every_cli_error_is_one_line(styx_home: Path, args: list[str]) -> None:
    before = _state_snapshot(styx_home)
    line = _one_line_error(styx(styx_home, *args))
    assert len(line) <= 2000
    assert _state_snapshot(styx_home) == before


def test_a_long_command_argument_is_a_command_not_a_crash(styx_home: Path) -> None:
    long_word = "echo " + "a" * 300
    result = styx(styx_home, "launch", "-y", "--dryrun", long_word)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_rich_markup_never_eats_user_text() -> None:
    import io

    from rich.console import Console

    from styx.cli.output import build_table

    buffer = io.StringIO()
    rows = [["aws", "disabled", "pip install 'styx[aws]'"], ["[bold]x[/bold]", "[spot]", None]]
    Console(file=buffer, width=200, color_system=None).print(
        build_table("[red]title[/red]", ["CLOUD", "STATUS", "DETAIL"], rows)
    )
    text = buffer.getvalue()
    for fragment in ("pip install 'styx[aws]'", "[bold]x[/bold]", "[spot]", "[red]title[/red]"):
        assert fragment in text, text


def test_check_table_keeps_the_pip_hint_whole(styx_home: Path, tmp_path: Path) -> None:
    # boto3 hidden from the subprocess (test side only), so `check` shows its install hint.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'boto3':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _Hide())\n"
    )
    result = styx(styx_home, "check", "aws", PYTHONPATH=str(hide))
    assert result.returncode == 0, result.stderr
    assert "pip install 'styx[aws]'" in result.stdout, result.stdout


# ---- the README's examples, as written ---------------------------------------------------------


def _readme_block(heading: str) -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split(f"## {heading}", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, heading
    commands = []
    for line in block.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # A trailing '# comment' is a shell comment: bash drops it as written.
        commands.append(line)
    return commands


def test_readme_using_it_commands_run_as_written(styx_home: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(REPO / "examples")
    (work / ".venv").symlink_to(Path(sys.executable).parent.parent)
    # `styx launch --dryrun -o json task.yaml` names "your" task file: give it one.
    (work / "task.yaml").write_text((REPO / "examples" / "hello.yaml").read_text())
    env = styx_env(styx_home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    quick_start = _readme_block("Quick start")[0]
    # Step 1 installs first (needs a package index); what it then runs is checked as written.
    # hello stays up during "Using it": local clusters share the machine (a 2-core one too).
    commands = [quick_start.split(" && ")[-1], *_readme_block("Using it")]
    assert any("exec demo -- python -c 'print(\"again\")'" in c for c in commands)
    outputs = {}
    try:
        for command in commands:
            result = subprocess.run(
                ["bash", "-c", command],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                stdin=subprocess.DEVNULL,
            )
            assert result.returncode == 0, (command, result.stdout[-1000:], result.stderr[-2000:])
            assert "Traceback" not in result.stderr, command
            outputs[command] = result.stdout
    finally:
        for name in ("demo", "hello"):
            styx(styx_home, "down", "-y", name)
    (exec_out,) = [out for cmd, out in outputs.items() if "exec demo" in cmd]
    assert "again" in exec_out
    assert "rank 0 of 2" in "".join(outputs.values())
