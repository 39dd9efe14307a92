"""Helpers of the end-to-end flows through an API server (the server itself:
``tests.api.conftest.server_process``, started with the environment the in-process test gives
the CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.api.conftest import ApiServer
from tests.conftest import REPO


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
