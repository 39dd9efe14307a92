"""Managed-jobs fixtures: a short watch interval (config, as a user would set it) and a
controller process that never outlives its test."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_local_cli import styx

JOBS_CONFIG = "jobs:\n  watch_interval_s: 0.3\n  idle_exit_s: 30\n"


def controller_pid(home: Path) -> int | None:
    path = home / "jobs" / "controller.pid"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def kill_controller(home: Path) -> None:
    """SIGKILL the test's own controller (its pid file), the way a crash would end it."""
    pid = controller_pid(home)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return
        except (ProcessLookupError, FileNotFoundError):
            return
        time.sleep(0.05)


@pytest.fixture
def jobs_home(styx_home: Path) -> Iterator[Path]:
    (styx_home / "config.yaml").write_text(JOBS_CONFIG)
    yield styx_home
    kill_controller(styx_home)


def queue(home: Path) -> list[dict[str, Any]]:
    out = styx(home, "jobs", "queue", "--all", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def job(home: Path, job_id: int) -> dict[str, Any]:
    """The job's queue record, read from the state store in this process: polling through the
    CLI would start a Python process per look and starve the controller on a small machine.
    (`queue` is the CLI's view; each test checks it too.)"""
    assert os.environ["STYX_HOME"] == str(home)
    from styx.state.store import open_store

    return job_in(open_store(), job_id)


def job_in(store: Any, job_id: int) -> dict[str, Any]:
    """Job ``job_id``'s queue record in ``store`` (a StateStore, closed after)."""
    from styx.jobs.store import JobStore

    try:
        record = JobStore(store).get(job_id)
        assert record is not None, f"no managed job {job_id}"
        return record.to_public()
    finally:
        store.close()


def cli_job(home: Path, job_id: int) -> dict[str, Any]:
    return next(j for j in queue(home) if j["job_id"] == job_id)


def wait_until(
    predicate: Callable[[], Any], timeout: float = 60, what: str = "condition", poll: float = 0.2
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def wait_final(home: Path, job_id: int, timeout: float = 90) -> dict[str, Any]:
    final = {"SUCCEEDED", "FAILED", "FAILED_SETUP", "FAILED_NO_RESOURCE", "FAILED_CONTROLLER",
             "CANCELLED"}  # fmt: skip
    return wait_until(
        lambda: (lambda j: j if j["status"] in final else None)(job(home, job_id)),
        timeout,
        f"managed job {job_id} to finish",
    )


def submitted_id(stdout: str) -> int:
    return int(stdout.split("Managed job ", 1)[1].split()[0])
