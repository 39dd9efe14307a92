"""Incremental file sync to a node: rsync over the node's SSH path when both ends have rsync,
SFTP otherwise. Both honour ``.styxignore``/``.gitignore`` and mirror (extra files go)."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from styx.errors import ClusterError
from styx.execution.ssh.target import openssh_options, shell_join
from styx.execution.sync import ignore_patterns, iter_entries

if TYPE_CHECKING:
    from styx.execution.ssh.runner import SSHCommandRunner


def rsync_filters(patterns: list[str]) -> list[str]:
    """gitignore patterns -> rsync filter rules.

    git's last matching pattern wins while rsync's first does, so the order is reversed; a
    ``!negation`` becomes an include rule; a pattern with an inner slash is anchored at the root.
    """
    rules = []
    for raw in reversed(patterns):
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        if not pattern.strip("/"):
            continue
        if "/" in pattern.rstrip("/") and not pattern.startswith("/"):
            pattern = "/" + pattern
        rules.append(("+ " if negate else "- ") + pattern)
    return rules


def known_hosts_file(runner: SSHCommandRunner) -> str | None:
    """A known_hosts file holding the node's pinned key under its alias, for OpenSSH clients."""
    target = runner.target
    if not target.instance_id or runner.host_keys is None:
        return None
    key = runner.host_keys.get(target.instance_id)
    if not key:
        return None
    from styx.execution.ssh.master import known_hosts

    return known_hosts(target.instance_id, key)


async def can_rsync(runner: SSHCommandRunner) -> bool:
    forced = os.environ.get("STYX_SSH_SYNC", "auto")  # auto | rsync | sftp
    if forced == "sftp":
        return False
    if shutil.which("rsync") is None or shutil.which("ssh") is None:
        return False
    if runner.target.password and not runner.target.key_path:
        return False  # OpenSSH in batch mode cannot type a password
    return await runner.has_remote_rsync()


async def sync_path(
    runner: SSHCommandRunner, local: Path, remote: str, excludes: list[str]
) -> None:
    from styx.execution.ssh.runner import remote_path

    dest = remote_path(remote)
    if not local.exists():
        raise ClusterError(f"cannot sync {local}: it does not exist", node=runner.label)
    await runner.connection()  # pins the host key before any OpenSSH client needs it
    if await can_rsync(runner):
        await _rsync(runner, local, dest, excludes)
    else:
        await _sftp(runner, local, dest, excludes)


async def _rsync(runner: SSHCommandRunner, local: Path, dest: str, excludes: list[str]) -> None:
    target = runner.target
    ssh = shell_join(["ssh", *openssh_options(target, known_hosts_file(runner))])
    host = f"{target.user}@{target.host}" if target.user else target.host
    if local.is_dir():
        patterns = ignore_patterns(local) + excludes
        filters = [f"--filter={rule}" for rule in rsync_filters(patterns)]
        parent = dest
        args = ["-a", "--delete", "--delete-excluded", *filters, f"{local}/", f"{host}:{dest}/"]
    else:
        parent = os.path.dirname(dest) or "."
        args = ["-a", str(local), f"{host}:{dest}"]
    argv = [
        "rsync",
        "-e",
        ssh,
        f"--rsync-path=mkdir -p {shlex.quote(parent)} && rsync",
        *args,
    ]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        tail = out.decode(errors="replace").strip().splitlines()[-3:]
        raise ClusterError(
            f"{target.describe()}: rsync of {local} to {dest} failed "
            f"(exit {proc.returncode}): {' | '.join(tail)}",
            node=runner.label,
        )


async def _remote_listing(runner: SSHCommandRunner, dest: str) -> dict[str, tuple[str, ...]]:
    """rel path -> ('f', size, mtime) for files, ('l', target) for symlinks, under ``dest``."""
    lines: list[str] = []
    q = shlex.quote(dest)
    code = await runner.run(
        f"mkdir -p {q} && cd {q} && "
        "find . \\( -type f -o -type l \\) -printf '%P\\t%y\\t%s\\t%T@\\t%l\\n'",
        on_output=lines.append,
    )
    if code != 0:
        raise ClusterError(f"{runner.label}: cannot list {dest}: {''.join(lines)[-200:]}")
    listing: dict[str, tuple[str, ...]] = {}
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 5 and parts[1] == "f":
            listing[parts[0]] = ("f", parts[2], str(int(float(parts[3]))))
        elif len(parts) == 5 and parts[1] == "l":
            listing[parts[0]] = ("l", parts[4])
    return listing


async def _sftp(runner: SSHCommandRunner, local: Path, dest: str, excludes: list[str]) -> None:
    """Mirror ``local`` into ``dest`` like ``rsync -a --delete``: links travel as links, and
    stale entries go first so that no file is ever written through a link on the node."""
    conn = await runner.connection()
    if local.is_file():
        parent = os.path.dirname(dest) or "."
        await runner.run(f"mkdir -p {shlex.quote(parent)} && rm -f {shlex.quote(dest)}")
        async with conn.start_sftp_client() as sftp:
            await sftp.put(str(local), dest, preserve=True)
        return
    entries = iter_entries(local, ignore_patterns(local) + excludes)
    remote = await _remote_listing(runner, dest)
    wanted: dict[str, tuple[str, ...]] = {}
    for rel, path, link in entries:
        if link:
            wanted[rel] = ("l", os.readlink(path))
        else:
            st = path.stat()
            wanted[rel] = ("f", str(st.st_size), str(int(st.st_mtime)))
    remote_folders = {
        "/".join(rel.split("/")[:i]) for rel in remote for i in range(1, rel.count("/") + 1)
    }
    # Gone, or of another kind (file/link), or a folder on the node where a file/link must be.
    stale = [rel for rel, kind in remote.items() if wanted.get(rel, ("",))[0] != kind[0]]
    stale += [rel for rel in wanted if rel in remote_folders]
    links = [(rel, kind[1]) for rel, kind in wanted.items() if kind[0] == "l"]
    commands = [f"rm -rf -- {shlex.quote(f'{dest}/{rel}')}" for rel in stale]
    for rel, target in links:
        if remote.get(rel) != ("l", target):
            path = shlex.quote(f"{dest}/{rel}")
            parent = shlex.quote(os.path.dirname(f"{dest}/{rel}"))
            commands.append(f"mkdir -p {parent} && ln -sfn -- {shlex.quote(target)} {path}")
    if commands:
        await runner.check_output(" && ".join(commands))
    async with conn.start_sftp_client() as sftp:
        made: set[str] = set()
        for rel, path, link in entries:
            if link or remote.get(rel) == wanted[rel]:
                continue  # a link (made above), or unchanged: rsync's quick check
            folder = os.path.dirname(rel)
            if folder and folder not in made:
                await sftp.makedirs(f"{dest}/{folder}", exist_ok=True)
                made.add(folder)
            await sftp.put(str(path), f"{dest}/{rel}", preserve=True)
