"""Styx: run AI and batch jobs on any infrastructure from one task file.

The names below load lazily so that ``import styx`` (and ``styx --help``) stays fast and never
imports a cloud SDK.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# What Styx creates is its user's alone: folders 0700, files 0600. Here, not in styx.config,
# because the CLI sets it first thing and ``styx --help`` must not pay for config's imports.
PRIVATE_UMASK = 0o077

_LAZY = {
    "Task": "styx.task",
    "Resources": "styx.resources",
    "launch": "styx.sdk",
    "exec": "styx.sdk",
    "status": "styx.sdk",
    "down": "styx.sdk",
    "stop": "styx.sdk",
    "start": "styx.sdk",
    "queue": "styx.sdk",
    "cancel": "styx.sdk",
    "logs": "styx.sdk",
    "autostop": "styx.sdk",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'styx' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
