"""The local provider end to end, through the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, styx_env


def styx(
    home: Path, *args: str, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        env=styx_env(home, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=str(REPO),
    )


def instance_dirs(home: Path) -> list[Path]:
    root = home / "local" / "instances"
    return sorted(root.iterdir()) if root.is_dir() else []


def processes_of(home: Path) -> list[int]:
    """Every process started in one of this home's local instances (found by env marker)."""
    markers = {f"STYX_LOCAL_INSTANCE={d.name}".encode() for d in instance_dirs(home)}
    root = str(home).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if markers & set(environ) or root in cmdline:
            pids.append(int(entry))
    return pids


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def test_hello_example(styx_home: Path) -> None:
    result = styx(styx_home, "launch", "-y", "-c", "hello", "examples/hello.yaml")
    assert result.returncode == 0, result.stderr
    assert "Hello from Styx: node 0 of 1" in result.stdout
    assert "setup ran once" in result.stdout
    styx(styx_home, "down", "-y", "hello")


def test_multi_node_lifecycle_leaves_nothing_behind(styx_home: Path) -> None:
    result = styx(styx_home, "launch", "-y", "-c", "demo", "examples/multi_node.yaml")
    assert result.returncode == 0, result.stderr
    assert "(head, 127.0.0.1) rank 0 of 2" in result.stdout
    assert "(worker1, 127.0.0.1) rank 1 of 2" in result.stdout

    clusters = json.loads(styx(styx_home, "status", "--json").stdout)
    assert [(c["name"], c["status"], c["num_nodes"]) for c in clusters] == [("demo", "UP", 2)]
    jobs = json.loads(styx(styx_home, "queue", "demo", "--json").stdout)
    assert [(j["job_id"], j["status"], j["exit_code"]) for j in jobs] == [(1, "SUCCEEDED", 0)]
    logs = styx(styx_home, "logs", "demo", "1")
    assert logs.returncode == 0 and "rank 1 of 2" in logs.stdout

    assert styx(styx_home, "stop", "-y", "demo").returncode == 0
    assert json.loads(styx(styx_home, "status", "--json").stdout)[0]["status"] == "STOPPED"
    assert processes_of(styx_home) == []  # stop kills every process, the agent's daemon too
    refreshed = json.loads(styx(styx_home, "status", "-r", "--json").stdout)
    assert refreshed[0]["status"] == "STOPPED"

    assert styx(styx_home, "start", "demo").returncode == 0
    again = styx(styx_home, "exec", "demo", "--", "echo", "again")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("again") == 2

    assert styx(styx_home, "down", "-y", "demo").returncode == 0
    assert instance_dirs(styx_home) == []
    assert wait_for(lambda: processes_of(styx_home) == [], timeout=5)
    assert json.loads(styx(styx_home, "status", "--json").stdout) == []


def _state_snapshot(home: Path) -> tuple[list[tuple], list[str]]:
    db = home / "state.db"
    rows: list[tuple] = []
    if db.exists():
        con = sqlite3.connect(db)
        rows = [tuple(r) for r in con.execute("SELECT name, status FROM clusters")]
        rows += [tuple(r) for r in con.execute("SELECT id, cluster FROM instances")]
        con.close()
    return rows, [d.name for d in instance_dirs(home)]


BAD_INPUTS = [
    (["launch", "-y", "missing.yaml"], "not found"),
    (["launch", "-y", "{bad}"], "invalid YAML"),
    (["launch", "-y", "{unknown}"], "did you mean 'run'"),
    (["launch", "-y", "{cpus}"], "resources.cpus"),
    (["launch", "-y", "{acc}"], "resources.accelerators"),
    (["launch", "-y", "{nodes}"], "num_nodes"),
    (["launch", "-y", "--infra", "nowhere", "examples/hello.yaml"], "unknown cloud 'nowhere'"),
    (["launch", "-y", "-c", "has space", "examples/hello.yaml"], "cluster name"),
    (["launch", "-y", "-c", "x;rm -rf ~", "examples/hello.yaml"], "cluster name"),
    (["exec", "ghost", "--", "true"], "cluster 'ghost' does not exist"),
    (["logs", "ghost"], "cluster 'ghost' does not exist"),
    (["down", "-y", "ghost"], "cluster 'ghost' does not exist"),
    (["launch", "-y", "--cpus", "4096", "examples/hello.yaml"], "4096"),
]


@pytest.mark.parametrize(("args", "fragment"), BAD_INPUTS)
def test_bad_input_one_line_no_state_change(
    styx_home: Path, tmp_path: Path, args: list[str], fragment: str
) -> None:
    files = {
        "bad": "run: [oops\n",
        "unknown": "rn: echo\n",
        "cpus": "resources: {cpus: -1}\nrun: echo\n",
        "acc": "resources: {accelerators: 'A100:zero'}\nrun: echo\n",
        "nodes": "num_nodes: 0\nrun: echo\n",
    }
    real_args = []
    for arg in args:
        if arg.startswith("{") and arg.endswith("}"):
            path = tmp_path / f"{arg[1:-1]}.yaml"
            path.write_text(files[arg[1:-1]])
            arg = str(path)
        real_args.append(arg)
    before = _state_snapshot(styx_home)
    result = styx(styx_home, *real_args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("styx: error:") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert _state_snapshot(styx_home) == before


def test_failing_job_fails_launch_with_its_exit_code(styx_home: Path, tmp_path: Path) -> None:
    task = tmp_path / "fail.yaml"
    task.write_text(
        "num_nodes: 2\nresources: {infra: local}\n"
        "run: |\n  if [ $SKYPILOT_NODE_RANK = 1 ]; then exit 7; fi; sleep 600\n"
    )
    started = time.monotonic()
    result = styx(styx_home, "launch", "-y", "-c", "f", str(task))
    assert result.returncode == 7
    assert time.monotonic() - started < 240  # the head (sleep 600) was stopped, not waited for
    assert "failed on worker1 (127.0.0.1) with exit code 7" in result.stderr
    job = json.loads(styx(styx_home, "queue", "f", "--json").stdout)[0]
    assert (job["status"], job["exit_code"], job["failed_node"]) == ("FAILED", 7, "worker1")
    styx(styx_home, "down", "-y", "f")


def test_status_refresh_asks_the_agent_for_the_last_job(styx_home: Path) -> None:
    assert (
        styx(styx_home, "launch", "-y", "-d", "-c", "lj", "--infra", "local", "sleep 30").returncode
        == 0
    )

    # The client recorded PENDING at submission; only the agent knows it is running now.
    def last_job() -> dict:
        rows = json.loads(styx(styx_home, "status", "-r", "--json").stdout)
        return rows[0]["last_job"]

    assert wait_for(lambda: last_job()["status"] == "RUNNING", timeout=20, interval=0.3)
    assert "1 RUNNING" in styx(styx_home, "status").stdout
    styx(styx_home, "cancel", "lj", "1")
    assert wait_for(lambda: last_job()["status"] == "CANCELLED", timeout=20, interval=0.3)
    styx(styx_home, "down", "-y", "lj")


def test_cancel_kills_running_job(styx_home: Path) -> None:
    result = styx(
        styx_home, "launch", "-y", "-d", "-c", "cx", "--infra", "local", "sleep 300; echo never"
    )
    assert result.returncode == 0, result.stderr

    def sleeping() -> list[int]:
        return [
            p
            for p in processes_of(styx_home)
            if b"sleep\x00300" in Path(f"/proc/{p}/cmdline").read_bytes()
        ]

    assert wait_for(lambda: bool(sleeping()))
    out = styx(styx_home, "cancel", "cx", "1")
    assert out.returncode == 0 and "Cancelled: 1" in out.stdout
    assert wait_for(lambda: not sleeping(), timeout=10)
    job = json.loads(styx(styx_home, "queue", "cx", "--json").stdout)[0]
    assert job["status"] == "CANCELLED"
    logs = styx(styx_home, "logs", "cx", "1")
    assert "never" not in logs.stdout
    styx(styx_home, "down", "-y", "cx")


def test_setup_runs_once_and_again_when_changed(styx_home: Path, tmp_path: Path) -> None:
    task = tmp_path / "t.yaml"
    body = "workdir: {wd}\nresources: {{infra: local}}\nsetup: echo SETUP-{n}\nrun: cat data.txt\n"
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / "data.txt").write_text("payload-1\n")
    (wd / "skip.log").write_text("ignored\n")
    (wd / ".gitignore").write_text("*.log\n")
    task.write_text(body.format(wd=wd, n=1))
    first = styx(styx_home, "launch", "-y", "-c", "s", str(task))
    assert first.returncode == 0, first.stderr
    assert "SETUP-1" in first.stdout and "payload-1" in first.stdout
    (wd / "data.txt").write_text("payload-2\n")
    second = styx(styx_home, "launch", "-y", "-c", "s", str(task))
    assert "SETUP-1" not in second.stdout and "payload-2" in second.stdout
    task.write_text(body.format(wd=wd, n=2))
    third = styx(styx_home, "launch", "-y", "-c", "s", str(task))
    assert "SETUP-2" in third.stdout
    home = instance_dirs(styx_home)[0] / "home" / "sky_workdir"
    assert (home / "data.txt").exists() and not (home / "skip.log").exists()
    styx(styx_home, "down", "-y", "s")


def test_secrets_reach_the_job_but_no_file(styx_home: Path, tmp_path: Path) -> None:
    task = tmp_path / "t.yaml"
    task.write_text(
        "resources: {infra: local}\nsecrets: {TOKEN: null}\nenvs: {PLAIN: p}\n"
        'run: echo "$TOKEN" > ~/seen.txt; echo done\n'
    )
    result = styx(
        styx_home, "launch", "-y", "-c", "sec", "--secret", "TOKEN=hunter2-xyz", str(task)
    )
    assert result.returncode == 0, result.stderr
    seen = instance_dirs(styx_home)[0] / "home" / "seen.txt"
    assert seen.read_text().strip() == "hunter2-xyz"
    seen.unlink()
    for path in styx_home.rglob("*"):
        if path.is_file():
            assert b"hunter2-xyz" not in path.read_bytes(), path
    styx(styx_home, "down", "-y", "sec")


def test_autostop_stops_then_down_tears_down(styx_home: Path) -> None:
    # The agent checks for idleness every 0.2 s instead of every 10 s (a user setting).
    (styx_home / "config.yaml").write_text("autostop:\n  check_interval_s: 0.2\n")
    result = styx(
        styx_home, "launch", "-y", "-c", "as", "--infra", "local", "-i", "0.01", "echo hi"
    )
    assert result.returncode == 0, result.stderr

    def status_of(name: str) -> str | None:
        rows = json.loads(styx(styx_home, "status", "-r", "--json").stdout)
        return next((r["status"] for r in rows if r["name"] == name), None)

    assert wait_for(lambda: status_of("as") == "STOPPED", timeout=30, interval=0.5)
    assert styx(styx_home, "start", "as").returncode == 0
    assert styx(styx_home, "autostop", "as", "-i", "0.01", "--down").returncode == 0
    assert wait_for(lambda: status_of("as") is None, timeout=30, interval=0.5)
    assert instance_dirs(styx_home) == []


def test_concurrent_launches_of_one_name_make_one_cluster(styx_home: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "styx.cli.main",
        "launch",
        "-y",
        "-d",
        "-c",
        "same",
        "--infra",
        "local",
        "echo hi",
    ]
    procs = [
        subprocess.Popen(
            cmd,
            env=styx_env(styx_home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(REPO),
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    # Either both succeed (the second reused the cluster) or the loser says the name is busy.
    for code, (_out, err) in zip(codes, results, strict=True):
        assert code == 0 or "is busy" in err, err
    assert len(instance_dirs(styx_home)) == 1
    styx(styx_home, "down", "-y", "same")
