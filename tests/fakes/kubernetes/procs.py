"""The processes of a fake pod: everything exec'd in it carries the pod's uid in its
environment (children inherit it), so deleting the pod can kill them all, as the kubelet would."""

from __future__ import annotations

import os
import signal

POD_UID_ENV = "STYX_FAKE_POD_UID"


def pod_processes(uid: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process exec'd in the pod ``uid`` (or a child)."""
    marker = f"{POD_UID_ENV}={uid}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            with open(f"/proc/{entry}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                    continue  # a zombie waiting for its parent: already dead
        except OSError:
            continue
        found.append((int(entry), cmd))
    return found


def signal_pod_processes(uid: str, sig: int) -> None:
    for pid, _ in pod_processes(uid):
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def kill_pod_processes(uid: str) -> None:
    signal_pod_processes(uid, signal.SIGKILL)
