"""``styx api``: start/status/stop of a detached server, refusing plain HTTP beyond loopback,
TLS, login, and detaching from / reattaching to / cancelling a request."""

from __future__ import annotations

import json
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.api.conftest import ApiServer, client_env, run_styx
from tests.api.postgres import free_port
from tests.conftest import REPO, styx_env


def test_refuses_beyond_loopback_without_tls(styx_home: Path) -> None:
    for args in (("--host", "0.0.0.0"), ("--host", "::"), ("--host", "example.org")):
        result = run_styx(styx_env(styx_home), "api", "start", *args, "--port", "1")
        assert result.returncode != 0
        assert result.stderr.count("\n") == 1 and "needs TLS" in result.stderr
    half = run_styx(styx_env(styx_home), "api", "start", "--tls-cert", "/nonexistent")
    assert half.returncode != 0 and "give both or neither" in half.stderr
    assert not (styx_home / "server" / "api.pid").exists()


def test_start_status_stop_detached_over_tls(styx_home: Path, tmp_path: Path) -> None:
    from tests.fakes.tls import make_server_tls

    tls = make_server_tls(tmp_path, "styx-api")
    env = styx_env(styx_home, SSL_CERT_FILE=str(tls.ca_path))
    port = free_port()
    tls_args = ("--tls-cert", str(tls.cert_path), "--tls-key", str(tls.key_path))
    started = run_styx(env, "api", "start", "--host", "0.0.0.0", "--port", str(port), *tls_args)
    assert started.returncode == 0, started.stderr
    try:
        assert f"running at https://127.0.0.1:{port}" in started.stdout
        server = styx_home / "server"
        for name in ("api.pid", "api.log", "api.db"):
            assert stat.S_IMODE((server / name).stat().st_mode) == 0o600, name
        again = run_styx(env, "api", "start", "--port", str(port))
        assert again.returncode != 0 and "already running" in again.stderr
        # A client that trusts the CA logs in over TLS with a token made on the server machine.
        assert run_styx(env, "api", "users", "add", "admin").returncode == 0
        token = json.loads(run_styx(env, "api", "tokens", "create", "--json").stdout)["token"]
        client_home = tmp_path / "client"
        client_home.mkdir()
        cenv = styx_env(client_home, SSL_CERT_FILE=str(tls.ca_path))
        login = run_styx(cenv, "api", "login", f"https://127.0.0.1:{port}", "--token", token)
        assert login.returncode == 0 and "as admin" in login.stdout, login.stderr
        status = json.loads(run_styx(env, "api", "status", "--json").stdout)
        assert status["server"]["healthy"] is True
        assert json.loads(run_styx(cenv, "status", "--json").stdout) == []
    finally:
        stopped = run_styx(env, "api", "stop")
    assert stopped.returncode == 0 and "Stopped" in stopped.stdout
    assert not (styx_home / "server" / "api.pid").exists()
    assert "not running" in run_styx(env, "api", "status").stdout
    assert token not in (styx_home / "server" / "api.log").read_text(errors="replace")


def test_login_stores_endpoint_and_private_token(api_server: ApiServer, styx_home: Path) -> None:
    env = styx_env(styx_home)
    bad = run_styx(env, "api", "login", api_server.endpoint, "--token", "styx_wrong")
    assert bad.returncode != 0 and "missing or invalid token" in bad.stderr
    assert not (styx_home / "config.yaml").exists()
    good = run_styx(env, "api", "login", api_server.endpoint, "--token", api_server.tokens["bob"])
    assert good.returncode == 0 and "as bob" in good.stdout, good.stderr
    config = yaml.safe_load((styx_home / "config.yaml").read_text())
    assert config == {"api_server": {"endpoint": api_server.endpoint}}
    creds = styx_home / "api_credentials.yaml"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert api_server.tokens["bob"] not in (styx_home / "config.yaml").read_text()
    assert "commands go to" in run_styx(env, "api", "status").stdout
    assert run_styx(env, "api", "logout").returncode == 0
    assert "in-process" in run_styx(env, "api", "status").stdout


def _request_id(stderr: str) -> str:
    match = re.search(r"request ([0-9a-f]{16}) keeps running", stderr)
    assert match, stderr
    return match.group(1)


def _detach_after(env: dict[str, str], marker: str, *args: str) -> str:
    """Run ``styx *args``, Ctrl-C it once ``marker`` is printed; the request id it names."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "styx.cli.main", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(REPO),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                break
        assert any(marker in line for line in seen), seen
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    return _request_id(stderr)


def _wait_status(env: dict[str, str], request_id: str, wanted: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        records = json.loads(run_styx(env, "api", "requests", "--json").stdout)
        status = next(r["status"] for r in records if r["id"] == request_id)
        if status == wanted:
            return
        time.sleep(0.3)
    raise AssertionError(f"request {request_id} is {status}, expected {wanted}")


@pytest.mark.slow
def test_detach_reattach_and_cancel(api_server: ApiServer, styx_home: Path, tmp_path: Path) -> None:
    env = client_env(api_server, styx_home, "alice")
    cluster = f"detach-{api_server.backend}"
    task = tmp_path / "task.yaml"
    task.write_text(
        "resources: {infra: local}\nrun: for i in 1 2 3 4 5; do echo line-$i; sleep 0.4; done\n"
    )
    request_id = _detach_after(env, "line-1", "launch", "-y", "-c", cluster, str(task))
    # Detaching did not cancel: reattaching prints the whole output and the request succeeds.
    reattached = run_styx(env, "api", "logs", request_id)
    assert reattached.returncode == 0, reattached.stderr
    assert all(f"line-{i}" in reattached.stdout for i in range(1, 6))
    _wait_status(env, request_id, "SUCCEEDED")
    # Another user cannot reattach to it or cancel it.
    bob = client_env(api_server, styx_home, "bob")
    assert "request not found" in run_styx(bob, "api", "logs", request_id).stderr
    assert "request not found" in run_styx(bob, "api", "cancel", request_id).stderr

    # Cancel a request that is following a long job.
    request_id = _detach_after(env, "started", "exec", cluster, "echo started; sleep 300")
    cancelled = run_styx(env, "api", "cancel", request_id)
    assert cancelled.returncode == 0, cancelled.stderr
    _wait_status(env, request_id, "CANCELLED")
    assert run_styx(env, "down", "-y", cluster).returncode == 0
