"""Shared fixtures. Every test gets its own $STYX_HOME so no test sees another's state."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def styx_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "styx-home"
    home.mkdir()
    monkeypatch.setenv("STYX_HOME", str(home))
    from styx.placement import reset_providers

    reset_providers()  # providers cache cloud lookups: never carry them from test to test
    yield home
    _kill_leftover_local_processes(home)


def _kill_leftover_local_processes(home: Path) -> None:
    """A failed test must not leave local-instance processes running for the next one."""
    instances = home / "local" / "instances"
    if not instances.is_dir():
        return
    from styx.providers.local.provider import kill_instance_processes

    for child in instances.iterdir():
        kill_instance_processes(child.name, grace_s=0.5)


def styx_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["STYX_HOME"] = str(home)
    env.update(extra)
    return env


def ssh_as_user(home: Path, host: str, command: str) -> subprocess.CompletedProcess[str]:
    """``ssh host command`` as the user would type it, with the user's ``~/.ssh/config`` under
    ``home`` (OpenSSH finds its config through the password database, not ``$HOME``)."""
    return subprocess.run(
        ["ssh", "-F", str(home / ".ssh" / "config"), "-o", "BatchMode=yes",
         "-o", "ConnectTimeout=20", host, command],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
