"""SIGKILL a launch at every EC2 call (before the cloud acts, and after it acted but before the
client heard back); after each, `status -r` + `down` must leave zero instances in the cloud,
as a plain boto3 client sees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.aws.conftest import live_instances
from tests.conftest import REPO, styx_env
from tests.fakes.aws.moto_server import MotoServer

CLUSTER = "crashy"


@contextmanager
def kill_at_call(pid_box: dict[str, int], index: int | None, when: str) -> Iterator[list[str]]:
    """Count every AWS action moto serves; at call ``index`` SIGKILL the child ``when`` ==
    'before' (the cloud never acts) or 'after' (it acted; the client never hears back)."""
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action
    seen: list[str] = []
    lock = threading.Lock()

    def counting(self: Any) -> Any:
        with lock:
            seen.append(getattr(self, "_get_action", lambda: "?")())
            n = len(seen)
        if index == n and when == "before":
            os.kill(pid_box["pid"], signal.SIGKILL)
        result = original(self)
        if index == n and when == "after":
            os.kill(pid_box["pid"], signal.SIGKILL)
        return result

    BaseResponse.call_action = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        BaseResponse.call_action = original  # type: ignore[method-assign]


def run_launch(home: Path, pid_box: dict[str, int]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.aws.crash_launch", CLUSTER, "3"],
                            env=styx_env(home), cwd=str(REPO), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    pid_box["pid"] = proc.pid
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def recover(home: Path) -> None:
    """What a user does after a crash, through the real CLI."""
    for args in (["status", "-r"], ["down", "-y", CLUSTER]):
        result = subprocess.run([sys.executable, "-m", "styx.cli.main", *args],
                                env=styx_env(home), cwd=str(REPO), text=True,
                                capture_output=True, timeout=120)  # fmt: skip
        if args[0] == "down":
            assert result.returncode == 0 or "does not exist" in result.stderr, result.stderr


def test_crash_matrix_leaks_nothing(aws: MotoServer, ec2: Any, tmp_path: Path) -> None:
    pid_box: dict[str, int] = {}
    home = tmp_path / "clean"
    home.mkdir()
    with kill_at_call(pid_box, None, "never") as seen:
        clean = run_launch(home, pid_box)
    assert clean.returncode == 0 and "PROVISIONED" in clean.stdout, clean.stderr
    calls = list(seen)
    assert "RunInstances" in calls and len(calls) >= 6, calls
    recover(home)
    assert live_instances(ec2, CLUSTER) == []

    # Every run starts cold (fresh cloud, fresh Styx home), so it makes the same calls.
    points = [(i, w) for i in range(1, len(calls) + 1) for w in ("before", "after")]
    leaked: dict[str, int] = {}
    for index, when in points:
        aws.reset()
        home = tmp_path / f"kill-{index}-{when}"
        home.mkdir()
        with kill_at_call(pid_box, index, when):
            result = run_launch(home, pid_box)
        assert result.returncode == -signal.SIGKILL, (index, when, result.stdout, result.stderr)
        recover(home)
        alive = live_instances(ec2, CLUSTER)
        if alive:
            leaked[f"{when} call {index} ({calls[index - 1]})"] = len(alive)
    assert len(points) >= 20, calls
    print(f"crash matrix: {len(points)} kill points around {calls}; leaked: {leaked}")
    assert leaked == {}, leaked
