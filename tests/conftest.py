"""Shared fixtures. Every test gets its own $STYX_HOME so no test sees another's state."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.postgres import postgres_server
from tests.state.target import StateTarget

# A suite started in the background of a script inherits SIGINT ignored (POSIX: asynchronous
# commands of a non-interactive shell), and so would every `styx` process the tests start; the
# tests that press Ctrl-C need it delivered. A handler here becomes SIG_DFL in each child.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One PostgreSQL server for the whole session (tests/api, tests/state): each test takes its
    own database on it with :func:`fresh_database`."""
    try:
        with postgres_server() as url:
            yield url
    except RuntimeError as exc:
        pytest.skip(f"PostgreSQL could not start: {exc}")


def fresh_database(base_url: str) -> str:
    """A new, empty database on the PostgreSQL server of ``base_url``."""
    import psycopg

    name = f"styx_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgres"])
def state_target(
    request: pytest.FixtureRequest, styx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> StateTarget:
    """The test's state store on each back-end; ``open_store()`` (so every command run in
    process) finds the same one: ``$STYX_HOME/state.db``, or ``STYX_DB_URL`` set to a fresh
    database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return StateTarget("sqlite", path=styx_home / "state.db")
    url = fresh_database(request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("STYX_DB_URL", url)
    return StateTarget("postgres", url=url)


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


def state_of(home: Path, db_url: str | None = None) -> Any:
    """The state store a Styx with this home and ``STYX_DB_URL`` keeps (an API server's, say):
    PostgreSQL when the URL names it, else the home's SQLite file. Close it after use."""
    from styx.state.store import StateStore

    if db_url and db_url.startswith(("postgresql", "postgres:")):
        return StateStore(url=db_url)
    return StateStore(home / "state.db")
