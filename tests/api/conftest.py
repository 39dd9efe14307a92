"""API-server fixtures: a PostgreSQL server for the session, and a Styx API server (a real
``python -m styx.server`` process on 127.0.0.1) per database back-end, shared by the session,
with two users: alice (the first, so the admin) and bob."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from styx.db import open_database
from styx.db.users import UserStore
from tests.api.postgres import free_port
from tests.conftest import REPO, _kill_leftover_local_processes, fresh_database

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, styx_home: Path) -> str:
    """A fresh database URL of each back-end (SQLite: a file under the test's home)."""
    if request.param == "sqlite":
        return f"sqlite:///{styx_home / 'api-test.db'}"
    return fresh_database(request.getfixturevalue("postgres_url"))


@dataclass
class ApiServer:
    backend: str
    endpoint: str
    home: Path  # the server's $STYX_HOME (its clusters, its local instances)
    env: dict[str, str]  # the environment of `styx` commands run on the server machine
    tokens: dict[str, str]
    process: subprocess.Popen[bytes]


def run_styx(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL, cwd=str(REPO),
    )  # fmt: skip


def wait_healthy(endpoint: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(endpoint + "/api/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the API server did not answer")


@pytest.fixture(scope="session", params=BACKENDS)
def api_server(request: pytest.FixtureRequest) -> Iterator[ApiServer]:
    home = Path(tempfile.mkdtemp(prefix="styx-api-server-"))
    # The tests' clusters run on the local provider, which a server allows only when told to.
    (home / "config.yaml").write_text("api_server: {allow_local_provider: true}\n")
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with server_process(request.param, home, dict(os.environ), url) as server:
        yield server


def seed_users(home: Path, db_url: str | None) -> dict[str, str]:
    """Users alice (the first: the admin) and bob, straight in the server's database (its
    ``STYX_DB_URL``, else the home's SQLite file); their tokens."""
    (home / "server").mkdir(mode=0o700, parents=True, exist_ok=True)
    db = open_database(db_url or f"sqlite:///{home / 'server' / 'api.db'}")
    users = UserStore(db)
    tokens = {}
    for user in ("alice", "bob"):
        users.add(user)
        tokens[user] = users.create_token(user).token
    db.close()
    return tokens


@contextmanager
def server_process(
    backend: str, home: Path, env: dict[str, str], postgres_url: str | None = None
) -> Iterator[ApiServer]:
    """A ``python -m styx.server`` process on 127.0.0.1 whose $STYX_HOME is ``home`` and whose
    environment is ``env`` (a test's, so that the same clouds and nodes answer it), with users
    alice (the first: the admin) and bob, put straight in its database (test_cli_api covers the
    commands that do it). Stopped, and its local instances' processes killed, on exit."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {**env, "STYX_HOME": str(home)}
    for name in ("STYX_API_SERVER", "STYX_API_TOKEN", "STYX_DB_URL"):
        env.pop(name, None)
    if backend == "postgres":
        assert postgres_url is not None
        env["STYX_DB_URL"] = fresh_database(postgres_url)
    tokens = seed_users(home, env.get("STYX_DB_URL"))
    port = free_port()
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "styx.server", "--port", str(port)],
        env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=str(REPO),
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(endpoint, process)
        yield ApiServer(backend, endpoint, home, env, tokens, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        _kill_leftover_local_processes(home)


def client_env(server: ApiServer, home: Path, user: str | None) -> dict[str, str]:
    """The environment of a client machine: its own home, the server's endpoint, a token."""
    env = {k: v for k, v in os.environ.items() if k not in ("STYX_DB_URL", "STYX_API_TOKEN")}
    env.update(STYX_HOME=str(home), STYX_API_SERVER=server.endpoint)
    if user is not None:
        env["STYX_API_TOKEN"] = server.tokens[user]
    return env
