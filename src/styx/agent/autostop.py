"""Autostop and spending caps: the head decides when to stop or tear down its own cluster.

Idle means no pending or running job (``styx exec`` runs as a job) for ``idle_minutes``, counted
from the latest of the last job's end, the moment autostop was set and the last submission's
start (see :func:`note_client_activity`).
A spending cap (``cap.json``, see ``styx.agent.caps``) fires when the accrued cost reaches it,
idle or not.
The action goes through the cluster's provider, as described in ``cluster.json`` written by the
client at set-up: on a cloud the head calls the cloud itself with its node identity (instance
profile, service account, managed identity, pod service account). When it cannot (no identity,
no SDK, an API error), it retries with backoff and writes why in ``autostop_state.json``, which
the client shows in ``styx status`` after ``status -r``.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from styx.agent.caps import load_cap, save_cap
from styx.agent.jobqueue import JobQueue


@dataclass
class AutostopConfig:
    idle_minutes: float | None = None
    down: bool = False
    set_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ClusterInfo:
    """What the head knows about its cluster (written by the client at set-up)."""

    cluster_name: str
    provider: str
    instance_ids: list[str] = field(default_factory=list)
    provider_config: dict[str, Any] = field(default_factory=dict)


RETRY_AFTER_FAILURE_S = 60.0  # first retry after a failed action; doubled up to the cap below
RETRY_CAP_S = 600.0


def load_config(root: Path) -> AutostopConfig:
    try:
        return AutostopConfig(**json.loads((root / "autostop.json").read_text()))
    except (OSError, ValueError, TypeError):
        return AutostopConfig()


def save_config(root: Path, config: AutostopConfig) -> None:
    tmp = root / "autostop.json.tmp"
    tmp.write_text(json.dumps(config.to_dict()))
    os.replace(tmp, root / "autostop.json")


def load_cluster_info(root: Path) -> ClusterInfo | None:
    try:
        return ClusterInfo(**json.loads((root / "cluster.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def load_note(root: Path) -> str | None:
    """The daemon's last word for the client (why it could not act, or what it is doing)."""
    try:
        note = json.loads((root / "autostop_state.json").read_text()).get("note")
    except (OSError, ValueError, AttributeError):
        return None
    return str(note) if note else None


def _save_note(root: Path, note: str | None) -> None:
    tmp = root / "autostop_state.json.tmp"
    tmp.write_text(json.dumps({"note": note, "at": time.time()}))
    os.replace(tmp, root / "autostop_state.json")


CLIENT_ACTIVITY = "client_activity"  # touched when a client starts submitting a job


def note_client_activity(root: Path) -> None:
    """A client is submitting a job right now: ``styx exec`` must not see the cluster stopped
    under it because the previous job ended ``idle_minutes`` ago."""
    path = root / CLIENT_ACTIVITY
    try:
        path.touch(mode=0o600)
        os.utime(path)
    except OSError:
        pass  # activity is a hint; a read-only or full disk must not fail the client's call


def _last_client_activity(root: Path) -> float:
    try:
        return (root / CLIENT_ACTIVITY).stat().st_mtime
    except OSError:
        return 0.0


def idle_for(root: Path, config: AutostopConfig) -> float:
    last = max(JobQueue(root).last_activity(), config.set_at, _last_client_activity(root))
    return time.time() - last


def _log(root: Path, message: str) -> None:
    with open(root / "autostop.log", "a", encoding="utf-8") as f:
        f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")


async def _act(info: ClusterInfo, down: bool) -> None:
    from styx.providers import get_provider
    from styx.providers.abilities import StopStart
    from styx.providers.instance import InstanceId

    provider = get_provider(info.provider, **info.provider_config)
    if not isinstance(provider, StopStart):
        down = True  # pods cannot be stopped: autostop tears them down (as SkyPilot does)
    # Workers first, head last: the head may be the machine running this very process.
    for instance_id in reversed(info.instance_ids):
        if down:
            await provider.terminate(InstanceId(instance_id))
        else:
            await provider.stop(InstanceId(instance_id))


def _due(root: Path) -> tuple[bool, str] | None:
    """(down, why) when the cluster must stop now; None otherwise. The cap comes first."""
    cap = load_cap(root)
    if cap is not None and cap.reached():
        why = f"spending cap reached (${cap.accrued():.4f} of ${cap.max_total_cost:g})"
        return cap.down, why
    config = load_config(root)
    if config.idle_minutes is not None and idle_for(root, config) >= config.idle_minutes * 60:
        return config.down, f"idle for {config.idle_minutes:g} min"
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def run_daemon(root: Path, interval_s: float = 10.0) -> int:
    """Loop until the cluster is stopped/torn down. One daemon per head (file lock)."""
    lock = open(root / "daemon.lock", "a+")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another daemon already watches this cluster
    failures = 0
    while True:
        due = _due(root)
        if due is None:
            time.sleep(interval_s)
            continue
        down, why = due
        action = "down" if down else "stop"
        info = load_cluster_info(root)
        if info is None:
            message = f"{why}, but cluster.json is missing: cannot {action}"
            _log(root, message)
            _save_note(root, message)
            time.sleep(max(interval_s, RETRY_AFTER_FAILURE_S))
            continue
        _log(root, f"{why}: {action}")
        _save_note(root, f"{why}: {action} in progress")
        # Cleared before acting, so that a head started again later does not fire at once on
        # the old setting (the VM may stop before this process gets another word in).
        config, cap = load_config(root), load_cap(root)
        save_config(root, AutostopConfig())
        save_cap(root, None)
        try:
            asyncio.run(_act(info, down))
        except Exception as exc:  # noqa: BLE001 - recorded for `styx status` to show, retried
            # E.g. a cloud head without identity or SDK: say why, keep the setting, and try
            # again later (with backoff) rather than never.
            failures += 1
            delay = min(RETRY_CAP_S, max(interval_s, RETRY_AFTER_FAILURE_S) * 2 ** (failures - 1))
            save_config(root, config)
            save_cap(root, cap)
            _log(root, f"autostop {action} failed: {_one_line(exc)}")
            _save_note(root, f"cannot {action}: {_one_line(exc)}; retrying in {delay:.0f}s")
            time.sleep(delay)
            continue
        _save_note(root, f"{why}: {action} done")
        return 0
