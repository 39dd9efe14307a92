"""Autostop: the head decides when the cluster is idle and stops or tears it down.

Idle means no pending or running job for ``idle_minutes`` (counted from the later of the last
job's end and the moment autostop was set). The action goes through the cluster's provider, as
described in ``cluster.json`` written by the client at set-up; the client sees the result on its
next ``status -r``.
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


RETRY_AFTER_FAILURE_S = 60.0


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


def idle_for(root: Path, config: AutostopConfig) -> float:
    last = max(JobQueue(root).last_activity(), config.set_at)
    return time.time() - last


def _log(root: Path, message: str) -> None:
    with open(root / "autostop.log", "a", encoding="utf-8") as f:
        f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")


async def _act(info: ClusterInfo, down: bool) -> None:
    from styx.providers import get_provider
    from styx.providers.instance import InstanceId

    provider = get_provider(info.provider, **info.provider_config)
    # Workers first, head last: the head may be the machine running this very process.
    for instance_id in reversed(info.instance_ids):
        if down:
            await provider.terminate(InstanceId(instance_id))
        else:
            await provider.stop(InstanceId(instance_id))


def run_daemon(root: Path, interval_s: float = 10.0) -> int:
    """Loop until the cluster is stopped/torn down. One daemon per head (file lock)."""
    lock = open(root / "daemon.lock", "a+")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another daemon already watches this cluster
    while True:
        config = load_config(root)
        if config.idle_minutes is not None and idle_for(root, config) >= config.idle_minutes * 60:
            info = load_cluster_info(root)
            if info is None:
                _log(root, "autostop due but cluster.json is missing; cannot act")
            else:
                action = "down" if config.down else "stop"
                _log(root, f"idle for {config.idle_minutes:g} min: {action}")
                save_config(root, AutostopConfig())  # do not fire again after a restart
                try:
                    asyncio.run(_act(info, config.down))
                except Exception as exc:  # noqa: BLE001 - recorded for `styx` to show, retried
                    # E.g. a cloud head without the cloud's SDK or credentials: say why in the
                    # log, keep the setting, and try again later rather than never.
                    _log(root, f"autostop {action} failed: {type(exc).__name__}: {exc}")
                    save_config(root, config)
                    time.sleep(max(interval_s, RETRY_AFTER_FAILURE_S))
                    continue
                return 0
        time.sleep(interval_s)
