"""The detached controller process: one per $STYX_HOME.

``ensure_controller()`` (called by every ``styx jobs`` command) starts it when no process holds
its lock file; the process takes the lock for its whole life (an flock: it is released by the
kernel however the process dies, so a killed controller never blocks the next one), adopts every
unfinished job from the state store, and exits when it has had no job for a while.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

from styx.jobs.files import jobs_dir


def lock_path() -> Path:
    return jobs_dir() / "controller.lock"


def pid_path() -> Path:
    return jobs_dir() / "controller.pid"


def log_file() -> Path:
    return jobs_dir() / "controller.log"


def _try_lock() -> int | None:
    """The lock file's descriptor, locked, or None when a controller holds it."""
    fd = os.open(lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def controller_pid() -> int | None:
    """The running controller's pid, or None when none runs."""
    fd = _try_lock()
    if fd is not None:
        os.close(fd)  # nobody held it
        return None
    try:
        return int(pid_path().read_text().strip())
    except (OSError, ValueError):
        return None


# Set by an API server that runs the controller itself (styx.server.jobs_leader): then no
# command it runs starts a detached one.
_RUN_BY_SERVER = False


def run_by_server() -> None:
    global _RUN_BY_SERVER
    _RUN_BY_SERVER = True


def ensure_controller() -> bool:
    """Start the controller unless one runs; True when one was started. Never on a client of
    an API server: its managed jobs run on the server, under the server's controller."""
    if _RUN_BY_SERVER:
        return False
    from styx.client.settings import configured

    if (settings := configured()) is not None:
        from styx.errors import StyxError

        raise StyxError(
            f"managed jobs run on the API server {settings.endpoint}: this machine starts no "
            "controller (use `styx jobs ...`, which goes to the server)"
        )
    fd = _try_lock()
    if fd is None:
        return False
    os.close(fd)  # the child takes it; if another client starts one first, the child exits
    log_fd = os.open(log_file(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        subprocess.Popen(
            [sys.executable, "-m", "styx.jobs.daemon"],
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            start_new_session=True,  # survives the terminal closing (no SIGHUP from it)
            close_fds=True,
            env=os.environ.copy(),
        )
    finally:
        os.close(log_fd)
    return True


def main() -> int:
    from styx import PRIVATE_UMASK

    os.umask(PRIVATE_UMASK)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    fd = _try_lock()
    if fd is None:
        return 0  # another controller runs for this $STYX_HOME
    pid_file = pid_path()
    pid_file.write_text(f"{os.getpid()}\n")
    try:
        asyncio.run(_serve())
    finally:
        pid_file.unlink(missing_ok=True)
        os.close(fd)
    return 0


async def _serve() -> None:
    from styx.jobs.controller import Controller
    from styx.jobs.settings import jobs_settings
    from styx.jobs.store import JobStore
    from styx.state.store import open_store

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    controller = Controller(JobStore(open_store()), jobs_settings())
    await controller.run(stop=stopping.is_set)


if __name__ == "__main__":
    sys.exit(main())
