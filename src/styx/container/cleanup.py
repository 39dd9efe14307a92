"""Removing a node's container when its node goes (``down``, autostop --down) or stops.

Standard library only: the head's agent runs the providers' terminate on autostop. The node-side
script (:mod:`styx.container.engine`) left the engine command and the container's name in the
node's runtime folder; without them the node never had a container and nothing is done.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from styx.container.engine import ENGINE_FILE, NAME_FILE

# For a remote host's clean-up script (bash, in the node's home), before the runtime folder goes.
REMOVE_SNIPPET = (
    f'if [ -s "$HOME/{NAME_FILE}" ]; then '
    f'$(cat "$HOME/{ENGINE_FILE}" 2>/dev/null || echo docker) rm -f '
    f'"$(cat "$HOME/{NAME_FILE}")" >/dev/null 2>&1; fi\n'
)


def _recorded(home: Path) -> tuple[list[str], str] | None:
    try:
        name = (home / NAME_FILE).read_text().strip()
        engine = (home / ENGINE_FILE).read_text().strip() or "docker"
    except OSError:
        return None
    return (shlex.split(engine), name) if name else None


def _engine(home: Path, *args: str) -> None:
    recorded = _recorded(home)
    if recorded is None:
        return
    engine, name = recorded
    try:
        subprocess.run(
            [*engine, *args, name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        pass  # no engine any more: nothing of it to remove


def remove_local(home: Path) -> None:
    """Remove the container of the local node whose home is ``home`` (if it has one)."""
    _engine(home, "rm", "-f")


def stop_local(home: Path) -> None:
    """Stop it (``styx stop``); the next launch or job starts it again."""
    _engine(home, "stop", "-t", "2")
