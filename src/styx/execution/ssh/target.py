"""How to reach one node over SSH: address, credentials, proxy, host-key pinning, boot retries."""

from __future__ import annotations

import asyncio
import shlex
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from styx.errors import ClusterError

if TYPE_CHECKING:
    import asyncssh

DEFAULT_CONNECT_TIMEOUT_S = 300.0  # a fresh cloud VM can take minutes before sshd answers


class HostKeys(Protocol):
    """Where pinned host keys live (the state store's instances.host_key in practice)."""

    def get(self, instance_id: str) -> str | None: ...

    def pin(self, instance_id: str, key: str) -> None: ...


class StoreHostKeys:
    """Host keys pinned in the state store, trust on first use.

    One store connection per object, opened on first use: a connect asks for several nodes'
    keys, and opening the state file each time would repeat its set-up on the exec hot path.
    """

    def __init__(self) -> None:
        self._store: Any = None

    def _db(self) -> Any:
        if self._store is None:
            from styx.state.store import open_store

            self._store = open_store()
        return self._store

    def get(self, instance_id: str) -> str | None:
        key: str | None = self._db().host_key(instance_id)
        return key

    def pin(self, instance_id: str, key: str) -> None:
        self._db().pin_host_key(instance_id, key)


class MemoryHostKeys:
    """Pins kept in a dict (probes of pool hosts that are not instances yet, tests)."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}

    def get(self, instance_id: str) -> str | None:
        return self.keys.get(instance_id)

    def pin(self, instance_id: str, key: str) -> None:
        self.keys[instance_id] = key


def substitute(template: str, host: str, port: int, user: str | None) -> str:
    """OpenSSH-style tokens in a ProxyCommand: %h host, %p port, %r user, %% a percent sign."""
    out, i = [], 0
    while i < len(template):
        ch = template[i]
        if ch == "%" and i + 1 < len(template):
            token = template[i + 1]
            out.append(
                {"h": host, "p": str(port), "r": user or "", "%": "%"}.get(token, ch + token)
            )
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class SSHTarget:
    host: str
    port: int = 22
    user: str | None = None
    key_path: str | None = None
    password: str | None = None
    proxy_command: str | None = None  # with %h/%p tokens, as in ssh_config
    jump_host: str | None = None  # [user@]host[:port], reached with the same key
    instance_id: str | None = None  # whose pinned host key to check (TOFU when none yet)
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    label: str = "node"
    # OpenSSH ControlPersist of the client-side master (master.py); None: no master.
    control_persist: str | None = None

    def proxy_argv(self) -> list[str] | None:
        if not self.proxy_command:
            return None
        return ["/bin/sh", "-c", substitute(self.proxy_command, self.host, self.port, self.user)]

    def describe(self) -> str:
        user = f"{self.user}@" if self.user else ""
        via = " via proxy command" if self.proxy_command else ""
        return f"{self.label} ({user}{self.host}:{self.port}{via})"


def _split_jump(jump: str) -> tuple[str | None, str, int]:
    user, _, rest = jump.rpartition("@")
    host, _, port = rest.partition(":")
    return user or None, host, int(port or 22)


async def _connect_once(
    target: SSHTarget, pinned: str | None, attempt_timeout: float
) -> asyncssh.SSHClientConnection:
    import asyncssh

    options: dict[str, Any] = {
        "port": target.port,
        "username": target.user,
        "client_keys": [target.key_path] if target.key_path else None,
        "password": target.password,
        "agent_path": None,
        "config": [],  # never read the user's ~/.ssh/config: the target says everything
        "connect_timeout": attempt_timeout,
        "keepalive_interval": 15,
    }
    if pinned:
        options["known_hosts"] = ([asyncssh.import_public_key(pinned)], [], [])
    else:
        options["known_hosts"] = None  # trust on first use; the key is pinned right after
    if target.password and not target.key_path:
        options["client_keys"] = None
        options["preferred_auth"] = "password,keyboard-interactive"
    proxy = target.proxy_argv()
    if proxy:
        options["proxy_command"] = proxy
    if target.jump_host:
        juser, jhost, jport = _split_jump(target.jump_host)
        options["tunnel"] = await asyncssh.connect(
            jhost,
            port=jport,
            username=juser or target.user,
            client_keys=options["client_keys"],
            known_hosts=None,
            agent_path=None,
            config=[],
            connect_timeout=attempt_timeout,
        )
    return await asyncssh.connect(target.host, **options)


async def connect(target: SSHTarget, host_keys: HostKeys | None) -> asyncssh.SSHClientConnection:
    """Connect, retrying while the node boots, within ``target.connect_timeout_s``.

    A host key that differs from the pinned one is never retried: it is a clear error.
    """
    import asyncssh

    pinned = host_keys.get(target.instance_id) if host_keys and target.instance_id else None
    deadline = time.monotonic() + max(target.connect_timeout_s, 0.1)
    delay = 0.2
    last: BaseException | None = None
    while True:
        left = deadline - time.monotonic()
        try:
            conn = await _connect_once(target, pinned, max(1.0, min(left, 30.0)))
            break
        except asyncssh.HostKeyNotVerifiable as exc:
            raise ClusterError(
                f"{target.describe()}: the host key changed since it was first seen "
                f"({exc.reason}); if the node was rebuilt on purpose, run `styx down` and "
                "launch again, otherwise someone may be intercepting the connection",
                node=target.label,
            ) from exc
        except (TimeoutError, OSError, asyncssh.Error, ValueError) as exc:
            last = exc
        if time.monotonic() + delay > deadline:
            detail = f"{type(last).__name__}: {last}" if last else "timed out"
            raise ClusterError(
                f"{target.describe()}: cannot connect over SSH within "
                f"{target.connect_timeout_s:g}s ({detail})",
                node=target.label,
            ) from last
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
    key = conn.get_server_host_key()
    if key is not None and host_keys and target.instance_id and not pinned:
        host_keys.pin(target.instance_id, key.export_public_key().decode().strip())
    return conn


def openssh_options(target: SSHTarget, known_hosts_file: str | None) -> list[str]:
    """OpenSSH client options reaching ``target`` the same way (for rsync's ``-e``)."""
    opts = [
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=30",
        "-p",
        str(target.port),
    ]
    if target.key_path:
        opts += ["-i", target.key_path, "-o", "IdentitiesOnly=yes"]
    if target.proxy_command:
        opts += ["-o", f"ProxyCommand={target.proxy_command}"]
    if target.jump_host:
        opts += ["-J", target.jump_host]
    if known_hosts_file and target.instance_id:
        opts += [
            "-o",
            f"UserKnownHostsFile={known_hosts_file}",
            "-o",
            f"HostKeyAlias=styx-{target.instance_id}",
            "-o",
            "StrictHostKeyChecking=yes",
        ]
    else:
        opts += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    return opts


def shell_join(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)
