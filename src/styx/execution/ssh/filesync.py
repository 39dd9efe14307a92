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
from styx.execution.sync import ignore_patterns, iter_files

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


async def _remote_listing(runner: SSHCommandRunner, dest: str) -> dict[str, tuple[int, int]]:
    lines: list[str] = []
    q = shlex.quote(dest)
    code = await runner.run(
        f"mkdir -p {q} && cd {q} && find . -type f -printf '%P\\t%s\\t%T@\\n'",
        on_output=lines.append,
    )
    if code != 0:
        raise ClusterError(f"{runner.label}: cannot list {dest}: {''.join(lines)[-200:]}")
    listing = {}
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 3:
            listing[parts[0]] = (int(parts[1]), int(float(parts[2])))
    return listing


async def _sftp(runner: SSHCommandRunner, local: Path, dest: str, excludes: list[str]) -> None:
    conn = await runner.connection()
    if local.is_file():
        parent = os.path.dirname(dest) or "."
        await runner.run(f"mkdir -p {shlex.quote(parent)}")
        async with conn.start_sftp_client() as sftp:
            await sftp.put(str(local), dest, preserve=True)
        return
    files = iter_files(local, ignore_patterns(local) + excludes)
    remote = await _remote_listing(runner, dest)
    wanted = {rel for rel, _ in files}
    async with conn.start_sftp_client() as sftp:
        made: set[str] = set()
        for rel, path in files:
            st = path.stat()
            if remote.get(rel) == (st.st_size, int(st.st_mtime)):
                continue  # unchanged: incremental like rsync's quick check
            folder = os.path.dirname(rel)
            if folder and folder not in made:
                await sftp.makedirs(f"{dest}/{folder}", exist_ok=True)
                made.add(folder)
            await sftp.put(str(path), f"{dest}/{rel}", preserve=True)
        for rel in remote:
            if rel not in wanted:
                await sftp.remove(f"{dest}/{rel}")
