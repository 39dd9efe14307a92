"""The controller's knobs, from the ``jobs`` section of $STYX_HOME/config.yaml."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from styx.errors import StyxError


@dataclass(frozen=True)
class JobsSettings:
    # How often a running job's cluster is checked with its provider: the bound on the time
    # from a node's loss to the relaunch request.
    watch_interval_s: float = 10.0
    max_concurrent_launches: int = 16
    # Each running job holds a log stream to its head; more wait PENDING.
    max_running_jobs: int = 256
    # A controller with no unfinished job exits after this long; the next `styx jobs` starts it.
    idle_exit_s: float = 300.0
    # A node whose provider cannot tell its state (an SSH host that does not answer: state
    # ERROR) counts as lost only once it has stayed so this long.
    unreachable_grace_s: float = 60.0
    # Launch failures in a row (not "no capacity") before a job ends FAILED_CONTROLLER.
    max_launch_errors: int = 3


_RANGES: dict[str, tuple[float, float, bool]] = {
    "watch_interval_s": (0.05, 15.0, False),
    "max_concurrent_launches": (1, 1024, True),
    "max_running_jobs": (1, 100_000, True),
    "idle_exit_s": (0.5, 86_400.0, False),
    "max_launch_errors": (1, 100, True),
    "unreachable_grace_s": (0.0, 3600.0, False),
}


def jobs_settings() -> JobsSettings:
    from styx.config import load_config

    section: Any = load_config().get("jobs") or {}
    if not isinstance(section, dict):
        raise StyxError("config.yaml: 'jobs' must be a mapping")
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key not in _RANGES:
            raise StyxError(
                f"config.yaml: jobs.{key}: unknown key; expected one of {sorted(_RANGES)}"
            )
        low, high, integer = _RANGES[key]
        ok = not isinstance(value, bool) and isinstance(value, int if integer else int | float)
        if not ok or not math.isfinite(value) or not low <= value <= high:
            kind = "an integer" if integer else "seconds"
            raise StyxError(
                f"config.yaml: jobs.{key}: got {value!r}, expected {kind} in [{low}, {high}]"
            )
        values[key] = value
    return JobsSettings(**values)
