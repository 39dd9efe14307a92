"""An API server for the end-to-end flows: started with the environment the in-process test
gives the CLI (cloud endpoints, proxy commands, pool files live in the server's home), on
SQLite or PostgreSQL, with users alice (admin) and bob."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from styx.db import open_database
from styx.db.users import UserStore
from tests.api.conftest import ApiServer, fresh_database, wait_healthy
from tests.api.postgres import free_port
from tests.conftest import REPO, _kill_leftover_local_processes


@contextmanager
def flows_server(
    backend: str, home: Path, env: dict[str, str], postgres_url: str | None = None
) -> Iterator[ApiServer]:
    """A ``python -m styx.server`` process whose $STYX_HOME is ``home`` and whose environment
    is ``env`` (the in-process test's, so that the same clouds and nodes answer it)."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {**env, "STYX_HOME": str(home)}
    for name in ("STYX_API_SERVER", "STYX_API_TOKEN", "STYX_DB_URL"):
        env.pop(name, None)
    if backend == "postgres":
        assert postgres_url is not None
        env["STYX_DB_URL"] = fresh_database(postgres_url)
    (home / "server").mkdir(mode=0o700, exist_ok=True)
    db = open_database(env.get("STYX_DB_URL") or f"sqlite:///{home / 'server' / 'api.db'}")
    users = UserStore(db)
    tokens = {}
    for user in ("alice", "bob"):
        users.add(user)
        tokens[user] = users.create_token(user).token
    db.close()
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


def user_env(server: ApiServer, client_home: Path, user: str | None) -> dict[str, str]:
    """A client machine's environment: its own (empty) home, the endpoint, a token; no cloud
    credentials or endpoints (they stay on the server)."""
    drop = ("STYX_DB_URL", "STYX_API_TOKEN", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        STYX_HOME=str(client_home),
        STYX_API_SERVER=server.endpoint,
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO)]),
    )
    if user is not None:
        env["STYX_API_TOKEN"] = server.tokens[user]
    return env


def server_public_key(server_env: dict[str, str]) -> str:
    """The server's Styx SSH key (made now if needed): what a cloud puts on its instances."""
    out = subprocess.run(
        [sys.executable, "-c", "from styx.keys import ensure_ssh_key; print(ensure_ssh_key()[1])"],
        env=server_env, capture_output=True, text=True, check=True, timeout=60, cwd=str(REPO),
    )  # fmt: skip
    return out.stdout.strip()


def stop_server_masters(server: ApiServer) -> None:
    """The OpenSSH masters the server started (they outlive it, as a client's outlive it)."""
    subprocess.run(
        [sys.executable, "-c", "import styx.execution.ssh.master as m; m.stop_masters()"],
        env=server.env, capture_output=True, timeout=60, cwd=str(REPO),
    )  # fmt: skip


def flow_backends(default: str) -> list[str]:
    """The back-ends a slow flow runs on: one by default (the suite's time budget; the cheap
    flows of tests/api run on both), both with ``STYX_FLOWS_BACKENDS=all``."""
    if os.environ.get("STYX_FLOWS_BACKENDS") == "all":
        return ["sqlite", "postgres"]
    return [default]
