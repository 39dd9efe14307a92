"""Stopping a local instance kills what runs in it, and nothing else in the same process group.

The killer runs in a session of its own, as the agent's autostop daemon does.
"""

from __future__ import annotations

import subprocess
import sys
import time

SLEEP = f"{sys.executable} -c 'import time; time.sleep(60)'"
KILL = (
    "from styx.providers.local.provider import kill_instance_processes; "
    "kill_instance_processes('inst-kill-test', grace_s=2)"
)


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _living(pid: int) -> bool:
    return _state(pid) not in ("Z", None)


def _session(leader: int) -> list[int]:
    out = subprocess.run(["pgrep", "-s", str(leader)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if int(p) != leader]


def _marked(pid: int) -> bool:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return b"STYX_LOCAL_INSTANCE=inst-kill-test" in f.read().split(b"\0")


def test_kill_takes_marked_processes_and_node_sessions_only() -> None:
    # A shell job (not Styx's): one marked process, e.g. an agent call made by a `styx`
    # command, next to an unmarked one; neither leads the group.
    job = subprocess.Popen(
        ["bash", "-c", f"STYX_LOCAL_INSTANCE=inst-kill-test {SLEEP} & {SLEEP} & wait"],
        start_new_session=True,
    )
    # A node process tree Styx started: a marked session leader with a child.
    node = subprocess.Popen(
        ["bash", "-c", f"{SLEEP} & wait"],
        start_new_session=True,
        env={"STYX_LOCAL_INSTANCE": "inst-kill-test", "PATH": "/usr/bin:/bin"},
    )
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
            len(_session(job.pid)) < 2 or not _session(node.pid)
        ):
            time.sleep(0.05)
        marked = [p for p in _session(job.pid) if _marked(p)]
        bystanders = [p for p in _session(job.pid) if not _marked(p)]
        assert len(marked) == 1 and len(bystanders) == 1
        subprocess.run([sys.executable, "-c", KILL], check=True, start_new_session=True, timeout=30)
        assert not _living(marked[0])
        assert all(_living(p) for p in bystanders) and _living(job.pid)  # the job's group lives
        assert not _living(node.pid) and not [p for p in _session(node.pid) if _living(p)]
    finally:
        for proc in (job, node):
            subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
            proc.wait()
