"""What the CLI promises when several names or a missing job are given, and when a launch fails
after its instances exist (through the real CLI in subprocesses, on the local provider)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_local_cli import instance_dirs, processes_of, styx

LOCAL = "resources:\n  infra: local\n"


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _clusters(home: Path) -> list[str]:
    return [c["name"] for c in json.loads(styx(home, "status", "--json").stdout)]


def test_down_of_several_names_does_every_name_it_can(styx_home: Path, tmp_path: Path) -> None:
    task = _write(tmp_path, "t.yaml", LOCAL + "run: echo up\n")
    for name in ("keep1", "keep2"):
        assert styx(styx_home, "launch", "-y", "-c", name, task).returncode == 0
    result = styx(styx_home, "down", "-y", "nosuch", "keep1", "alsomissing", "keep2")
    assert result.returncode != 0
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2, result.stderr
    assert "nosuch" in errors[0] and "alsomissing" in errors[1]
    assert "down: cluster 'keep1' done" in result.stdout
    assert "down: cluster 'keep2' done" in result.stdout
    assert _clusters(styx_home) == []
    assert instance_dirs(styx_home) == []


def test_stop_and_start_of_several_names_report_each_failure(
    styx_home: Path, tmp_path: Path
) -> None:
    task = _write(tmp_path, "t.yaml", LOCAL + "run: echo up\n")
    assert styx(styx_home, "launch", "-y", "-c", "s1", task).returncode == 0
    stopped = styx(styx_home, "stop", "-y", "gone", "s1")
    assert stopped.returncode != 0 and stopped.stderr.count("\n") == 1
    assert "gone" in stopped.stderr
    started = styx(styx_home, "start", "s1", "gone")
    assert started.returncode != 0 and "gone" in started.stderr
    assert "start: cluster 's1' done" in started.stdout
    status = json.loads(styx(styx_home, "status", "--json").stdout)
    assert [(c["name"], c["status"]) for c in status] == [("s1", "UP")]
    styx(styx_home, "down", "-y", "s1")


def test_cancel_and_logs_of_a_job_that_never_existed(styx_home: Path, tmp_path: Path) -> None:
    task = _write(tmp_path, "t.yaml", LOCAL + "run: echo first\n")
    assert styx(styx_home, "launch", "-y", "-c", "c1", task).returncode == 0

    cancelled = styx(styx_home, "cancel", "-y", "c1", "99")
    assert cancelled.returncode != 0
    assert cancelled.stdout == ""
    assert cancelled.stderr == "styx: error: cluster 'c1' has no job 99\n"

    logs = styx(styx_home, "logs", "c1", "99")
    assert logs.returncode != 0
    assert logs.stdout == ""
    assert logs.stderr == "styx: error: cluster 'c1' has no job 99\n"

    # A real, finished job: nothing to cancel, exit 0; its log is there.
    done = styx(styx_home, "cancel", "-y", "c1", "1")
    assert done.returncode == 0 and "nothing (already finished)" in done.stdout
    assert styx(styx_home, "logs", "c1", "1").stdout == "first\n"
    styx(styx_home, "down", "-y", "c1")


def test_launch_failing_after_provisioning_leaves_nothing(styx_home: Path, tmp_path: Path) -> None:
    # The instance exists before the workdir is cloned onto it; the clone then fails.
    task = _write(
        tmp_path,
        "t.yaml",
        LOCAL + f"workdir:\n  url: file://{tmp_path}/no-such-repo\nrun: echo never\n",
    )
    failed = styx(styx_home, "launch", "-y", "-c", "broken", task)
    assert failed.returncode != 0
    assert failed.stderr.strip().splitlines()[-1].startswith("styx: error:")
    assert "terminating the new cluster 'broken'" in failed.stderr
    assert _clusters(styx_home) == []
    assert instance_dirs(styx_home) == []
    assert processes_of(styx_home) == []

    kept = styx(styx_home, "launch", "-y", "-c", "broken", "--keep-on-failure", task)
    assert kept.returncode != 0
    assert _clusters(styx_home) == ["broken"]
    assert len(instance_dirs(styx_home)) == 1
    assert styx(styx_home, "down", "-y", "broken").returncode == 0
    assert instance_dirs(styx_home) == []
