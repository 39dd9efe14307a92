"""Client-side OpenSSH ControlMaster per node: later commands skip the handshake and asyncssh.

Once a node's host key is pinned (asyncssh, trust on first use), the runner starts a persistent
``ssh -M -N -f`` master for it, checked against a Styx known_hosts file holding that pinned key
(``HostKeyAlias=styx-<instance id>``, ``StrictHostKeyChecking=yes``). A later process (``styx
exec``) runs its command through the master's socket with a plain ``ssh`` subprocess: no asyncssh
import, no handshake. ``ControlPersist`` ends an idle master; ``styx down`` ends it at once.

Sockets live in ``$STYX_HOME/ssh/cm`` when that path is short enough for ``sun_path`` (OpenSSH
also binds a temporary name 17 characters longer), otherwise under a private temp folder; the
name hashes everything that defines the connection, the pinned key included, so a rebuilt node
or changed proxy never reuses an old master. ``index`` lists the masters started from this home.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from styx.execution.ssh.target import SSHTarget, openssh_options

DEFAULT_PERSIST = "10m"
MARKER = b"styx-mux-started\n"  # printed by the remote shell first: the command did start
_SUN_PATH_MAX = 107 - 17  # OpenSSH binds "<path>.<16 random chars>" before renaming it
NO_SSH = 255


def cm_dir() -> Path:
    from styx.config import styx_home

    return styx_home() / "ssh" / "cm"


def enabled(target: SSHTarget) -> bool:
    """Masters need an OpenSSH client, key auth and a persist time other than "no"/"0"."""
    persist = (target.control_persist or "").strip().lower()
    if persist in ("", "0", "no", "false", "off"):
        return False
    if target.password and not target.key_path:
        return False  # OpenSSH in batch mode cannot type a password
    return bool(target.instance_id) and shutil.which("ssh") is not None


def control_path(target: SSHTarget, pinned: str) -> Path:
    identity = "\0".join(
        str(x)
        for x in (
            cm_dir(),
            target.instance_id,
            target.host,
            target.port,
            target.user,
            target.key_path,
            target.proxy_command,
            target.jump_host,
            pinned,
        )
    )
    name = hashlib.sha256(identity.encode()).hexdigest()[:20]
    path = cm_dir() / name
    if len(str(path)) <= _SUN_PATH_MAX:
        return path
    short = Path(tempfile.gettempdir()) / f"styx-cm-{os.getuid()}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / name


def known_hosts(instance_id: str, key: str) -> str:
    """A known_hosts file holding the node's pinned key under its alias, for OpenSSH clients."""
    folder = cm_dir().parent / "known_hosts"
    path = folder / instance_id
    line = f"styx-{instance_id} {key}\n"
    try:
        if path.read_text() == line:
            return str(path)
    except OSError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(line)
    return str(path)


def alive(path: Path) -> bool:
    """Whether a master listens on ``path`` (a stale socket file refuses; costs microseconds)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _base(target: SSHTarget, known_hosts: str, path: Path) -> list[str]:
    argv = ["ssh", *openssh_options(target, known_hosts), "-o", "LogLevel=ERROR"]
    argv += ["-S", str(path)]
    if target.user:
        argv += ["-l", target.user]
    return argv


def _record(target: SSHTarget, path: Path) -> None:
    index = cm_dir() / "index"
    line = f"{target.instance_id} {path}\n"
    with contextlib.suppress(OSError):
        if index.exists() and line in index.read_text():
            return
        with index.open("a") as f:
            f.write(line)


async def start(target: SSHTarget, known_hosts: str, pinned: str) -> Path | None:
    """Start the node's master unless one answers already; its socket, or None if it failed.

    A lock file serialises starts: two masters binding one path would leave the loser running
    as a plain, never-ending connection.
    """
    path = control_path(target, pinned)
    cm_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        if alive(path):
            return path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a dead master's socket
        log = cm_dir() / f"{path.name}.log"
        argv = [
            *_base(target, known_hosts, path),
            "-o",
            "ControlMaster=yes",
            "-o",
            f"ControlPersist={target.control_persist}",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=3",
            "-E",
            str(log),
            "-N",
            "-f",
            target.host,
        ]
        with contextlib.suppress(OSError):
            log.unlink()
        # -f: ssh returns once authenticated, leaving the master in the background.
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not killed with the styx process group (Ctrl-C)
        )
        try:
            code = await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return None
        if code != 0 or not alive(path):
            return None
        _record(target, path)
        return path
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


async def run(
    target: SSHTarget,
    known_hosts: str,
    path: Path,
    command: str,
    on_output: Callable[[str], None] | None,
    stdin: bytes | None,
) -> int | None:
    """Run ``command`` (a remote shell line) through the master; None if it never started.

    The remote shell prints MARKER before anything else, so an ssh failure (exit 255 with no
    marker) is told apart from a command that exited 255: only the former may be retried.
    The remote stderr is merged into stdout there, as the asyncssh runner merges them.
    """
    remote = f"printf '{MARKER.decode().strip()}\\n'; {command} 2>&1"
    argv = [*_base(target, known_hosts, path), "-o", "ControlMaster=no", target.host, remote]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    feeder = asyncio.ensure_future(_feed(proc.stdin, stdin))  # alongside reading: no deadlock
    errors = asyncio.ensure_future(proc.stderr.read())
    started = False
    try:
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            if not started:
                started = line == MARKER
                if started:
                    continue
            if on_output is not None:
                on_output(line.decode("utf-8", errors="replace"))
        code = await proc.wait()
    except BaseException:
        # Cancelled: end the ssh client (which closes the remote command's channel).
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        feeder.cancel()
        errors.cancel()
        raise
    await feeder
    stderr = (await errors).decode("utf-8", errors="replace")
    if not started:
        return None
    if stderr and on_output is not None and code == NO_SSH:
        on_output(stderr)  # ssh's own complaint after the command started (connection lost)
    return code


async def _feed(pipe: asyncio.StreamWriter | None, data: bytes | None) -> None:
    if pipe is None or not data:
        return
    with contextlib.suppress(OSError):
        pipe.write(data)
        await pipe.drain()
        pipe.close()


def stop(path: Path) -> None:
    """Ask a master to exit (``ssh -O exit``); a missing or dead socket is just removed."""
    if alive(path):
        subprocess.run(
            ["ssh", "-F", "/dev/null", "-o", "LogLevel=QUIET", "-S", str(path), "-O", "exit", "x"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    with contextlib.suppress(OSError):
        path.unlink()


def stop_masters(instance_ids: set[str] | None = None) -> int:
    """Stop the masters this home started for ``instance_ids`` (all when None); how many."""
    index = cm_dir() / "index"
    try:
        lines = index.read_text().splitlines()
    except OSError:
        return 0
    keep, stopped = [], 0
    for line in lines:
        iid, _, raw = line.partition(" ")
        if instance_ids is not None and iid not in instance_ids:
            keep.append(line)
            continue
        path = Path(raw)
        if alive(path):
            stopped += 1
        stop(path)
    with contextlib.suppress(OSError):
        index.write_text("".join(f"{line}\n" for line in keep))
    return stopped
