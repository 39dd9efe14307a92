"""Fixtures of the managed-jobs-through-the-server tests: API server processes whose home has a
short managed-jobs watch interval (config, as an operator would set it), users alice (admin)
and bob, and replicas of one server sharing its home and database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.api.conftest import seed_users, wait_healthy
from tests.api.postgres import free_port
from tests.conftest import REPO, _kill_leftover_local_processes

SERVER_CONFIG = (
    "api_server: {allow_local_provider: true}\njobs: {watch_interval_s: 0.3, idle_exit_s: 30}\n"
)


@dataclass
class Replica:
    endpoint: str
    process: subprocess.Popen[bytes]


@dataclass
class JobsServer:
    """One server's home and database, and the replica processes serving them."""

    home: Path
    env: dict[str, str]  # the environment of the server machine (its home, its database)
    tokens: dict[str, str]
    replicas: list[Replica] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return next(r.endpoint for r in self.replicas if r.process.poll() is None)

    def start_replica(self) -> Replica:
        port = free_port()
        log_path = self.home / f"server-{len(self.replicas)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "styx.server", "--port", str(port)],
                env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=str(REPO),
            )  # fmt: skip
        replica = Replica(f"http://127.0.0.1:{port}", process)
        self.replicas.append(replica)
        self.logs.append(log_path)
        wait_healthy(replica.endpoint, process)
        return replica

    def client_env(self, home: Path, user: str, endpoint: str | None = None) -> dict[str, str]:
        """A client machine: its own home, the endpoint, the user's token."""
        env = {k: v for k, v in os.environ.items() if k not in ("STYX_DB_URL", "STYX_API_TOKEN")}
        env.update(
            STYX_HOME=str(home),
            STYX_API_SERVER=endpoint or self.endpoint,
            STYX_API_TOKEN=self.tokens[user],
        )
        return env

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def stop(self) -> None:
        for replica in self.replicas:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in self.replicas:
            try:
                replica.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()
        _kill_leftover_local_processes(self.home)
        shutil.rmtree(self.home, ignore_errors=True)


def new_jobs_server(db_url: str | None = None) -> JobsServer:
    """A server home with users (not started: call start_replica)."""
    home = Path(tempfile.mkdtemp(prefix="styx-jobsrv-"))
    env = {**os.environ, "STYX_HOME": str(home)}
    env.pop("STYX_API_SERVER", None)
    env.pop("STYX_API_TOKEN", None)
    if db_url:
        env["STYX_DB_URL"] = db_url
    (home / "config.yaml").write_text(SERVER_CONFIG)
    return JobsServer(home, env, seed_users(home, db_url))
