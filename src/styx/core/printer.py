"""Where the core's words go: a job's output and one line per progress step.

The core never prints; it calls a :class:`Printer`. The CLI and the sync SDK pass one that writes
to the terminal, an API server one that streams to its client, a test one that collects lines.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

Output = Callable[[str], None]


def write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def print_progress(text: str) -> None:
    """The default progress printer: one ``styx: ...`` line on stderr per step."""
    sys.stderr.write(f"styx: {text}\n")
    sys.stderr.flush()


def _ignore(_text: str) -> None:
    pass


@dataclass(frozen=True)
class Printer:
    output: Output = write_stdout  # a job's output, as its lines arrive (newlines included)
    progress: Output = print_progress  # one short line per step of an operation

    @classmethod
    def silent(cls) -> Printer:
        return cls(_ignore, _ignore)
