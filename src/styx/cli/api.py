"""``styx api``: run the API server on this machine, manage its users and tokens, and connect
a client to a server (login, and reattach to or cancel a request)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from styx.errors import StyxError

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0  # above the default drain (20 s) plus the streams' bound (5 s)


@click.group()
def api() -> None:
    """Run or use a Styx API server (shared clusters for a team)."""


def _server_files() -> tuple[Path, Path]:
    from styx.db.engine import server_home

    home = server_home()
    return home / "api.pid", home / "api.log"


def _running() -> dict[str, Any] | None:
    """The pid file's contents when its process is alive."""
    pid_file, _ = _server_files()
    try:
        info = json.loads(pid_file.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(info)


def _local_endpoint(info: dict[str, Any]) -> str:
    host = info["host"]
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"{info['scheme']}://{host}:{info['port']}"


def _healthy(endpoint: str) -> bool:
    import ssl
    import urllib.request

    context = ssl._create_unverified_context() if endpoint.startswith("https") else None
    try:
        with urllib.request.urlopen(endpoint + "/api/health", timeout=2, context=context) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@api.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", type=int, default=None, envvar="STYX_API_PORT", help="port (default 46580)")
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="TLS certificate (PEM)")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="TLS private key (PEM)")
@click.option("--insecure", is_flag=True, help="allow plain HTTP beyond loopback")
@click.option(
    "--foreground",
    is_flag=True,
    help="run in this process, logging to stderr (containers) instead of detached",
)
@click.option(
    "--drain-timeout",
    type=float,
    default=20.0,
    show_default=True,
    help="on SIGTERM, seconds running requests get to finish before they are interrupted",
)
def start(
    host: str,
    port: int | None,
    tls_cert: str | None,
    tls_key: str | None,
    insecure: bool,
    foreground: bool,
    drain_timeout: float,
) -> None:
    """Start the API server (detached; its log is $STYX_HOME/server/api.log)."""
    from styx.server.serve import DEFAULT_PORT, ServeOptions, check_listen, serve

    opts = ServeOptions(host, port or DEFAULT_PORT, tls_cert, tls_key, insecure, drain_timeout)
    check_listen(opts)  # refuse before detaching, so the error reaches the terminal
    if foreground:
        serve(opts)
        return
    if (info := _running()) is not None:
        raise StyxError(f"the API server is already running (pid {info['pid']}): styx api stop")
    from styx.db import open_database

    open_database().close()  # a bad STYX_DB_URL or schema fails here, not in the background
    pid_file, log_file = _server_files()
    argv = [sys.executable, "-m", "styx.server", "--host", host, "--port", str(opts.port)]
    if tls_cert and tls_key:
        argv += ["--tls-cert", tls_cert, "--tls-key", tls_key]
    if insecure:
        argv.append("--insecure")
    argv += ["--drain-timeout", str(drain_timeout)]
    fd = os.open(log_file, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    info = {
        "pid": proc.pid,
        "host": host,
        "port": opts.port,
        "scheme": "https" if tls_cert else "http",
    }
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, pid_file)
    endpoint = _local_endpoint(info)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pid_file.unlink(missing_ok=True)
            lines = log_file.read_text(errors="replace").strip().splitlines()
            raise StyxError(f"the API server exited: {lines[-1] if lines else 'no output'}")
        if _healthy(endpoint):
            click.echo(f"API server running at {endpoint} (pid {proc.pid}, log {log_file})")
            return
        time.sleep(0.1)
    raise StyxError(f"the API server did not answer within {START_TIMEOUT_S:g}s; see {log_file}")


@api.command()
def stop() -> None:
    """Stop the API server started on this machine."""
    pid_file, _ = _server_files()
    info = _running()
    if info is None:
        pid_file.unlink(missing_ok=True)
        click.echo("The API server is not running.")
        return
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.1)
    else:
        raise StyxError(f"the API server (pid {pid}) did not stop within {STOP_TIMEOUT_S:g}s")
    pid_file.unlink(missing_ok=True)
    click.echo(f"Stopped the API server (pid {pid}).")


@api.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def status(as_json: bool) -> None:
    """Show the local API server and the endpoint this client uses."""
    from styx.client.settings import configured

    info = _running()
    local = None
    if info is not None:
        endpoint = _local_endpoint(info)
        local = {"pid": info["pid"], "endpoint": endpoint, "healthy": _healthy(endpoint)}
    settings = configured()
    remote = (
        {"endpoint": settings.endpoint, "has_token": bool(settings.token)} if settings else None
    )
    if as_json:
        click.echo(json.dumps({"server": local, "client": remote}, indent=2))
        return
    if local:
        state = "healthy" if local["healthy"] else "not answering"
        click.echo(f"Server: running at {local['endpoint']} (pid {local['pid']}, {state})")
    else:
        click.echo("Server: not running on this machine")
    if remote:
        click.echo(f"Client: commands go to {remote['endpoint']}")
    else:
        click.echo("Client: commands run in-process (no API server configured)")


@api.group()
def users() -> None:
    """Manage the server's users (run on the server machine)."""


@users.command("add")
@click.argument("name")
def users_add(name: str) -> None:
    """Add a user (the first one is the admin)."""
    from styx.db import open_database
    from styx.db.users import UserStore

    user = UserStore(open_database()).add(name)
    click.echo(f"Added user {user.name}" + (" (admin)" if user.is_admin else ""))


@users.command("remove")
@click.argument("name")
def users_remove(name: str) -> None:
    """Remove a user and revoke their tokens."""
    from styx.db import open_database
    from styx.db.users import UserStore

    UserStore(open_database()).remove(name)
    click.echo(f"Removed user {name}")


@users.command("list")
def users_list() -> None:
    """List the users."""
    from styx.db import open_database
    from styx.db.users import UserStore

    for user in UserStore(open_database()).list():
        click.echo(user.name + (" (admin)" if user.is_admin else ""))


@api.group()
def tokens() -> None:
    """Create or revoke bearer tokens (run on the server machine)."""


@tokens.command("create")
@click.option("--user", "user_name", help="whose token (default: the admin)")
@click.option("--json", "as_json", is_flag=True, help='print {"user", "token_id", "token"}')
def tokens_create(user_name: str | None, as_json: bool) -> None:
    """Create a token; it is shown once."""
    from styx.db import open_database
    from styx.db.users import UserStore

    store = UserStore(open_database())
    if user_name is None:
        admin = store.admin()
        if admin is None:
            raise StyxError("no users yet: add one first with: styx api users add NAME")
        user_name = admin.name
    issued = store.create_token(user_name)
    if as_json:
        click.echo(
            json.dumps({"user": issued.user, "token_id": issued.token_id, "token": issued.token})
        )
    else:
        click.echo(f"Token for {issued.user} (id {issued.token_id}; shown once):\n{issued.token}")


@tokens.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token by its id."""
    from styx.db import open_database
    from styx.db.users import UserStore

    UserStore(open_database()).revoke(token_id)
    click.echo(f"Revoked token {token_id}")


@api.command()
@click.argument("endpoint")
@click.option("--token", envvar="STYX_API_TOKEN", required=True, help="a token from the admin")
def login(endpoint: str, token: str) -> None:
    """Send this machine's commands to the API server at ENDPOINT."""
    from styx.client.remote import RemoteClient
    from styx.client.settings import ApiSettings, normalize_endpoint, save_login

    endpoint = normalize_endpoint(endpoint)
    who = RemoteClient(ApiSettings(endpoint, token)).call("GET", "/api/whoami")
    save_login(endpoint, token)
    click.echo(f"Logged in to {endpoint} as {who['user']}")


@api.command()
def logout() -> None:
    """Run commands in-process again (the stored token is kept for a later login)."""
    from styx.client.settings import forget_login

    forget_login()
    click.echo("Commands run in-process now.")


def _client() -> Any:
    from styx.client.remote import client

    c = client()
    if c is None:
        raise StyxError("no API server configured: styx api login ENDPOINT --token TOKEN")
    return c


@api.command()
@click.argument("request_id")
def logs(request_id: str) -> None:
    """Reattach to a request: print its output from the start and follow it to the end."""
    from styx.client.remote import Detached, result_of
    from styx.core.printer import Printer

    c = _client()
    try:
        record = c.stream(request_id, Printer())
    except KeyboardInterrupt:
        sys.stderr.write(f"styx: detached from request {request_id} (still running)\n")
        raise Detached(request_id) from None
    result_of(record)  # a failed request exits non-zero with its error


@api.command()
@click.argument("request_id")
def cancel(request_id: str) -> None:
    """Cancel a request that is still running."""
    answer = _client().cancel(request_id)
    click.echo(f"Cancelling request {request_id} (was {answer['status']})")


@api.command("requests")
@click.option("--all-users", is_flag=True, help="every user's requests (admins)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def list_requests(all_users: bool, as_json: bool) -> None:
    """List recent requests."""
    from styx.cli.output import ago, print_table

    records = _client().call("GET", "/api/requests" + ("?all_users=1" if all_users else ""))
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    rows = [
        [r["id"], r["user"], r["verb"], r.get("cluster") or "-", r["status"], ago(r["created_at"])]
        for r in records
    ]
    print_table(None, ["ID", "USER", "VERB", "CLUSTER", "STATUS", "CREATED"], rows)
