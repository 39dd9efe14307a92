"""The CLI through a real API server (SQLite and PostgreSQL), on the local provider: launch,
exec, queue, logs, cancel, status, down; users see only their own clusters; no token, 401."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.api.conftest import ApiServer, client_env, run_styx, wait_healthy
from tests.api.postgres import free_port
from tests.conftest import REPO

TASK = """\
resources:
  infra: local
run: |
  echo "hello from $SKYPILOT_CLUSTER_NAME via the server"
"""


def as_user(server: ApiServer, home: Path, user: str | None, *args: str, timeout: float = 120):  # type: ignore[no-untyped-def]
    return run_styx(client_env(server, home, user), *args, timeout=timeout)


def server_records(server: ApiServer) -> str:
    """Every request row and output chunk in the server's database, as one text."""
    from sqlalchemy import select

    from styx.db import open_database
    from styx.db.tables import request_logs, requests

    url = server.env.get("STYX_DB_URL") or f"sqlite:///{server.home / 'server' / 'api.db'}"
    db = open_database(url)
    with db.engine.connect() as conn:
        rows = [*conn.execute(select(requests)).all(), *conn.execute(select(request_logs)).all()]
    db.close()
    assert rows
    return "\n".join(str(tuple(r)) for r in rows)


def test_no_or_bad_token_gets_401(api_server: ApiServer) -> None:
    for headers in ({}, {"Authorization": "Bearer styx_not-a-token"}, {"Authorization": "Basic x"}):
        req = urllib.request.Request(api_server.endpoint + "/api/requests", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=10)
        assert info.value.code == 401
    with urllib.request.urlopen(api_server.endpoint + "/api/health", timeout=10) as r:
        assert json.loads(r.read())["ok"] is True


def test_cli_without_token_says_how_to_log_in(api_server: ApiServer, styx_home: Path) -> None:
    result = as_user(api_server, styx_home, None, "status")
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "missing or invalid token" in result.stderr
    assert "styx api login" in result.stderr


def test_local_flow_through_the_server(
    api_server: ApiServer, styx_home: Path, tmp_path: Path
) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(TASK)
    cluster = f"api-{api_server.backend}"
    launched = as_user(api_server, styx_home, "alice", "launch", "-y", "-c", cluster, str(task))
    assert launched.returncode == 0, launched.stderr
    assert f"hello from {cluster} via the server" in launched.stdout

    # The cluster lives on the server (its state, its instances), owned by alice.
    assert not (styx_home / "local").exists()
    status = json.loads(as_user(api_server, styx_home, "alice", "status", "--json").stdout)
    assert [(c["name"], c["status"], c["owner"]) for c in status] == [(cluster, "UP", "alice")]

    ran = as_user(api_server, styx_home, "alice", "exec", cluster, "echo second job")
    assert ran.returncode == 0, ran.stderr
    assert "second job" in ran.stdout
    secret = as_user(
        api_server, styx_home, "alice", "exec", "--secret", "API_KEY=s3cr3t-v4lue", cluster,
        'test "$API_KEY" = s3cr3t-v4lue && echo secret-arrived',
    )  # fmt: skip
    assert secret.returncode == 0 and "secret-arrived" in secret.stdout, secret.stderr
    assert "s3cr3t-v4lue" not in server_records(api_server)
    queue = json.loads(as_user(api_server, styx_home, "alice", "queue", cluster, "--json").stdout)
    assert [j["status"] for j in queue] == ["SUCCEEDED"] * 3
    logs = as_user(api_server, styx_home, "alice", "logs", cluster, "1")
    assert logs.returncode == 0 and "via the server" in logs.stdout

    sleeper = as_user(api_server, styx_home, "alice", "exec", "-d", cluster, "sleep 300")
    assert sleeper.returncode == 0, sleeper.stderr
    cancelled = as_user(api_server, styx_home, "alice", "cancel", cluster, "4")
    assert cancelled.returncode == 0, cancelled.stderr
    queue = json.loads(as_user(api_server, styx_home, "alice", "queue", cluster, "--json").stdout)
    assert queue[-1]["job_id"] == 4 and queue[-1]["status"] == "CANCELLED"

    # bob sees nothing of alice's, and cannot act on it: 404, as if it did not exist.
    assert json.loads(as_user(api_server, styx_home, "bob", "status", "--json").stdout) == []
    for args in (("logs", cluster), ("queue", cluster), ("down", "-y", cluster)):
        denied = as_user(api_server, styx_home, "bob", *args)
        assert denied.returncode != 0 and f"cluster '{cluster}' not found" in denied.stderr
    denied = as_user(api_server, styx_home, "bob", "exec", cluster, "echo hijack")
    assert denied.returncode != 0 and "hijack" not in denied.stdout

    down = as_user(api_server, styx_home, "alice", "down", "-y", cluster)
    assert down.returncode == 0, down.stderr
    assert json.loads(as_user(api_server, styx_home, "alice", "status", "--json").stdout) == []


def test_tokens_never_reach_the_server_log(api_server: ApiServer, styx_home: Path) -> None:
    as_user(api_server, styx_home, "bob", "status")
    log = (api_server.home / "server.log").read_text(errors="replace")
    assert not any(token in log for token in api_server.tokens.values())


def test_local_provider_needs_the_servers_consent_and_admin_sees_all(
    api_server: ApiServer, styx_home: Path, tmp_path: Path
) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(TASK)
    config = api_server.home / "config.yaml"
    allowed = config.read_text()
    config.write_text("api_server: {allow_local_provider: false}\n")
    try:
        refused = as_user(api_server, styx_home, "bob", "launch", "-y", "-c", "bobs", str(task))
    finally:
        config.write_text(allowed)
    assert refused.returncode != 0 and "local provider is off" in refused.stderr
    assert refused.stderr.count("\n") == 1

    launched = as_user(api_server, styx_home, "bob", "launch", "-y", "-d", "-c", "bobs", str(task))
    assert launched.returncode == 0, launched.stderr
    try:
        mine = json.loads(as_user(api_server, styx_home, "alice", "status", "--json").stdout)
        assert "bobs" not in [c["name"] for c in mine]
        everyone = as_user(api_server, styx_home, "alice", "status", "--all-users", "--json")
        assert ("bobs", "bob") in [(c["name"], c["owner"]) for c in json.loads(everyone.stdout)]
        not_admin = as_user(api_server, styx_home, "bob", "status", "--all-users")
        assert not_admin.returncode != 0 and "only an admin" in not_admin.stderr
    finally:
        assert as_user(api_server, styx_home, "bob", "down", "-y", "bobs").returncode == 0


def _requests_of(env: dict[str, str]) -> list[dict]:  # type: ignore[type-arg]
    result = run_styx(env, "api", "requests", "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


@pytest.mark.slow
def test_a_second_replica_streams_and_cancels_what_the_first_runs(
    api_server: ApiServer, styx_home: Path
) -> None:
    """Two server processes on one database (PostgreSQL, or one machine's SQLite file):
    requests, output and cancel flags live in the database, so replica B serves a request
    that replica A runs."""
    port = free_port()
    replica = subprocess.Popen(
        [sys.executable, "-m", "styx.server", "--port", str(port)],
        env=api_server.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, cwd=str(REPO),
    )  # fmt: skip
    via_a = client_env(api_server, styx_home, "alice")
    via_b = {**via_a, "STYX_API_SERVER": f"http://127.0.0.1:{port}"}
    try:
        wait_healthy(via_b["STYX_API_SERVER"], replica)
        assert (
            run_styx(
                via_a, "launch", "-y", "-d", "-c", "rep", "--infra", "local", "true"
            ).returncode
            == 0
        )
        before = {r["id"] for r in _requests_of(via_b)}
        follow = None
        runner = subprocess.Popen(
            [sys.executable, "-m", "styx.cli.main", "exec", "rep", "echo rep-start; sleep 300"],
            env=via_a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(REPO),
        )  # fmt: skip
        try:
            assert runner.stdout is not None and "rep-start" in runner.stdout.readline()
            new = [r for r in _requests_of(via_b) if r["id"] not in before]
            assert [(r["verb"], r["status"]) for r in new] == [("exec", "RUNNING")]
            follow = subprocess.Popen(
                [sys.executable, "-m", "styx.cli.main", "api", "logs", new[0]["id"]],
                env=via_b, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                cwd=str(REPO),
            )  # fmt: skip
            assert follow.stdout is not None and "rep-start" in follow.stdout.readline()
            assert run_styx(via_b, "api", "cancel", new[0]["id"]).returncode == 0
            _, err = runner.communicate(timeout=60)
            assert runner.returncode != 0 and "was cancelled" in err
            _, err = follow.communicate(timeout=60)
            assert follow.returncode != 0 and "was cancelled" in err
        finally:
            for proc in (runner, follow):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()
        assert run_styx(via_b, "down", "-y", "rep").returncode == 0
    finally:
        replica.terminate()
        replica.wait(timeout=15)
