"""The async core: everything the SDK, the CLI and long-running services do with clusters.

Every operation is a coroutine, so async code (a managed-jobs controller, an API server) calls
it directly; :mod:`styx.sdk` wraps each in one ``asyncio.run`` for synchronous callers. Output
goes through a :class:`Printer`, never ``print``.
"""

from styx.core.jobs import autostop, cancel, logs, queue
from styx.core.launch import LaunchResult, exec, launch
from styx.core.lifecycle import LaunchOptions, down, start, status, stop, terminate_cluster
from styx.core.printer import Printer

__all__ = [
    "LaunchOptions",
    "LaunchResult",
    "Printer",
    "autostop",
    "cancel",
    "down",
    "exec",
    "launch",
    "logs",
    "queue",
    "start",
    "status",
    "stop",
    "terminate_cluster",
]
