"""Ctrl-C while RunInstances is on the wire: the launch waits for the call to land, then
terminates what it made (unless --keep-on-failure, when `styx down` removes it later)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import moto.ec2.models.instances as moto_instances

from tests.aws.conftest import live_instances
from tests.conftest import REPO, styx_env
from tests.fakes.aws.moto_server import MotoServer


@contextmanager
def slow_run_instances(delay_s: float) -> Iterator[threading.Event]:
    """RunInstances takes ``delay_s`` (a slow cloud); the event fires when a call arrives."""
    original = moto_instances.InstanceBackend.run_instances
    arrived = threading.Event()

    def slow(self, image_id, count, user_data, security_group_names, **kwargs):  # type: ignore[no-untyped-def]
        arrived.set()
        time.sleep(delay_s)
        return original(self, image_id, count, user_data, security_group_names, **kwargs)

    moto_instances.InstanceBackend.run_instances = slow  # type: ignore[method-assign]
    try:
        yield arrived
    finally:
        moto_instances.InstanceBackend.run_instances = original  # type: ignore[method-assign]


def interrupted_launch(home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with slow_run_instances(1.5) as arrived:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.aws.crash_launch", "intr", "2", *extra],
            env=styx_env(home),
            cwd=str(REPO),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert arrived.wait(60), "RunInstances never came"
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def styx(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        env=styx_env(home),
        cwd=str(REPO),
        text=True,
        capture_output=True,
        timeout=120,
    )


def test_ctrl_c_terminates_the_in_flight_launch(aws: MotoServer, ec2: Any, styx_home: Path) -> None:
    result = interrupted_launch(styx_home)
    assert result.returncode != 0 and "PROVISIONED" not in result.stdout
    assert "interrupted: terminating" in result.stdout
    assert live_instances(ec2, "intr") == []
    assert styx(styx_home, "status", "--json").stdout.strip() == "[]"  # nothing half-recorded


def test_ctrl_c_with_keep_on_failure_keeps_then_down_removes(
    aws: MotoServer, ec2: Any, styx_home: Path
) -> None:
    result = interrupted_launch(styx_home, "keep")
    assert result.returncode != 0
    assert len(live_instances(ec2, "intr")) == 2  # kept, as asked
    assert styx(styx_home, "status", "-r").returncode == 0
    down = styx(styx_home, "down", "-y", "intr")
    assert down.returncode == 0, down.stderr
    assert live_instances(ec2, "intr") == []
