"""``ssh <cluster>`` from the user's own shell: one OpenSSH config entry per node.

After a launch (and a start, since a restarted VM's address may change) Styx writes the
cluster's entries to ``$STYX_HOME/ssh/config.d/<cluster>`` (0600): ``Host <cluster>`` for the
head, ``Host <cluster>-worker<N>`` for the workers, each with the node's address, port, user,
the key Styx reaches it with, the provider's proxy command or jump host, and its host key pinned
(``HostKeyAlias=styx-<instance id>`` checked against the Styx known_hosts file that the
ControlMaster code already keeps). ``styx down`` deletes the file.

OpenSSH reads those files only through one ``Include`` line at the top of ``~/.ssh/config``.
Styx edits that file only with the user's consent: ``ssh_config.add_include`` in
``$STYX_HOME/config.yaml`` (true/false), or, when that is unset, the answer to a one-time
question asked on a terminal (remembered in ``$STYX_HOME/ssh/include_consent``). Without
consent Styx prints the line to add once per launch instead.

Only nodes reached over SSH get entries (clouds, SSH pools): local nodes are folders and
Kubernetes pods have no sshd.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from styx.errors import StyxError
from styx.providers.access import ClusterAccess

INCLUDE_MARKER = "# Added by Styx: `ssh <cluster>` for Styx clusters"
CONSENT_KEY = "ssh_config.add_include"


@dataclass(frozen=True)
class SSHHostEntry:
    """One ``Host`` block: how the user's OpenSSH client reaches one node."""

    alias: str
    hostname: str
    port: int = 22
    user: str | None = None
    identity_file: str | None = None
    proxy_command: str | None = None
    jump_host: str | None = None
    known_hosts_file: str | None = None  # holds the pinned key under ``host_key_alias``
    host_key_alias: str | None = None

    def render(self) -> str:
        lines = [f"Host {self.alias}", f"  HostName {self.hostname}", f"  Port {self.port}"]
        if self.user:
            lines.append(f"  User {self.user}")
        if self.identity_file:
            lines += [f"  IdentityFile {_quote(self.identity_file)}", "  IdentitiesOnly yes"]
        if self.proxy_command:
            lines.append(f"  ProxyCommand {self.proxy_command}")
        if self.jump_host:
            lines.append(f"  ProxyJump {self.jump_host}")
        if self.known_hosts_file and self.host_key_alias:
            lines += [
                f"  HostKeyAlias {self.host_key_alias}",
                f"  UserKnownHostsFile {_quote(self.known_hosts_file)}",
                "  StrictHostKeyChecking yes",
            ]
        else:  # not pinned yet: never mix a cloud's recycled addresses into ~/.ssh/known_hosts
            lines += ["  UserKnownHostsFile /dev/null", "  StrictHostKeyChecking accept-new"]
        return "\n".join(lines) + "\n"


def _quote(path: str) -> str:
    return f'"{path}"' if any(c.isspace() for c in path) else path


def host_alias(cluster_name: str, rank: int) -> str:
    """``<cluster>`` for the head, ``<cluster>-worker<N>`` for worker N."""
    return cluster_name if rank == 0 else f"{cluster_name}-worker{rank}"


def entries_dir() -> Path:
    from styx.config import styx_home

    return styx_home() / "ssh" / "config.d"


def entry_path(cluster_name: str) -> Path:
    return entries_dir() / cluster_name


def include_line() -> str:
    return f"Include {_quote(str(entries_dir()))}/*"


def entries_for(access: ClusterAccess) -> list[SSHHostEntry]:
    """The entries of a cluster whose nodes are reached over SSH; [] for any other kind."""
    from styx.execution.ssh.access import SSHClusterAccess
    from styx.execution.ssh.master import known_hosts
    from styx.execution.ssh.runner import SSHCommandRunner

    if not isinstance(access, SSHClusterAccess):
        return []
    entries = []
    for node in access.nodes:
        if not isinstance(node.runner, SSHCommandRunner):
            continue
        target = node.runner.target
        pinned = access.host_keys.get(node.instance.id)
        known = known_hosts(node.instance.id, pinned) if pinned else None
        entries.append(
            SSHHostEntry(
                alias=host_alias(access.cluster_name, node.instance.node_rank),
                hostname=target.host,
                port=target.port,
                user=target.user,
                identity_file=target.key_path,
                proxy_command=target.proxy_command,
                jump_host=target.jump_host,
                known_hosts_file=known,
                host_key_alias=f"styx-{node.instance.id}" if known else None,
            )
        )
    return entries


def write_entries(cluster_name: str, entries: list[SSHHostEntry]) -> Path | None:
    """Replace the cluster's entry file (0600, written whole); None when there is nothing."""
    if not entries:
        remove_entries(cluster_name)
        return None
    folder = entries_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = entry_path(cluster_name)
    text = f"# Styx cluster '{cluster_name}' (removed by `styx down {cluster_name}`)\n"
    text += "\n".join(e.render() for e in entries)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def remove_entries(cluster_name: str) -> None:
    with contextlib.suppress(OSError):
        entry_path(cluster_name).unlink()


def user_ssh_config() -> Path:
    return Path.home() / ".ssh" / "config"


def include_present(config: Path | None = None) -> bool:
    path = config or user_ssh_config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    return include_line() in text.splitlines()


def add_include(config: Path | None = None) -> None:
    """Put the Include line at the top of ``~/.ssh/config`` (created 0600 if absent).

    At the top because an Include below a ``Host`` or ``Match`` line would apply only to that
    block's hosts. The rest of the file is kept byte for byte.
    """
    path = config or user_ssh_config()
    if include_present(path):
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = ""
    except OSError as exc:
        raise StyxError(f"cannot read {path}: {exc.strerror}") from exc
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    tmp = path.with_name(f".{path.name}.styx-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"{INCLUDE_MARKER}\n{include_line()}\n\n{old}")
    os.replace(tmp, path)


def _consent_file() -> Path:
    from styx.config import styx_home

    return styx_home() / "ssh" / "include_consent"


def configured_consent() -> bool | None:
    """``ssh_config.add_include`` from config.yaml, else the remembered answer; None if neither."""
    from styx.config import load_config

    section = load_config().get("ssh_config") or {}
    if not isinstance(section, dict):
        raise StyxError("config.yaml: 'ssh_config' must be a mapping")
    value = section.get("add_include")
    if value is not None:
        if not isinstance(value, bool):
            raise StyxError(f"config.yaml: {CONSENT_KEY} must be true or false, got {value!r}")
        return value
    try:
        answer = _consent_file().read_text().strip()
    except OSError:
        return None
    return {"yes": True, "no": False}.get(answer)


def _ask_on_terminal() -> bool | None:
    """Ask once on an interactive terminal; None when there is none to ask on."""
    try:
        interactive = sys.stdin is not None and sys.stdin.isatty() and sys.stderr.isatty()
    except (ValueError, OSError):  # closed or detached streams
        interactive = False
    if not interactive:
        return None
    sys.stderr.write(
        f"Add `{include_line()}` to the top of {user_ssh_config()} so that "
        "`ssh <cluster>` works? [Y/n] "
    )
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline().strip().lower()
    except (OSError, KeyboardInterrupt):
        return None
    consent = answer in ("", "y", "yes")
    folder = _consent_file().parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _consent_file().write_text("yes\n" if consent else "no\n")
    return consent


def publish(
    cluster_name: str,
    access: ClusterAccess,
    progress: Callable[[str], None],
    ask: Callable[[], bool | None] = _ask_on_terminal,
) -> None:
    """Write the cluster's entries and make sure ``~/.ssh/config`` includes them (with consent).

    Never fails a launch: a file that cannot be written is reported on one line.
    """
    try:
        if write_entries(cluster_name, entries_for(access)) is None:
            return
        if include_present():
            return
        consent = configured_consent()
        if consent is None:
            consent = ask()
        if consent:
            add_include()
            progress(f"added `{include_line()}` to {user_ssh_config()}")
        elif consent is None:
            progress(
                f"`ssh {cluster_name}` needs `{include_line()}` at the top of "
                f"{user_ssh_config()}; add it, or set {CONSENT_KEY}: true in config.yaml"
            )
    except (OSError, StyxError) as exc:
        progress(f"could not write the SSH config entry for '{cluster_name}': {exc}")
