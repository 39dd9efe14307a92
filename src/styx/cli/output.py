"""Printing helpers shared by the commands. rich is imported only when a table is printed."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def console(stderr: bool = False) -> Any:
    """A rich console; when not writing to a terminal, wide enough that tables do not wrap
    (pipes and logs get rich's 80 columns otherwise)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, soft_wrap=True, width=None if stream.isatty() else 240)


def build_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """Styx's plain table look (no box); ``None`` cells show as '-'.

    Every cell is plain text: rich markup is never interpreted, so a hint such as
    ``pip install 'styx[aws]'`` or a name like ``[spot]`` prints exactly as written.
    """
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(title) if title is not None else None,
        box=None,
        header_style="bold",
        pad_edge=False,
    )
    for column in columns:
        table.add_column(Text(column))
    for row in rows:
        table.add_row(*(Text("-" if v is None else str(v)) for v in row))
    return table


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    console().print(build_table(title, columns, rows))


def ago(ts: float | None) -> str:
    if not ts:
        return "-"
    delta = max(0, int(time.time() - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            return f"{delta // size}{unit} ago"
    return f"{delta}s ago"


def duration(start: float | None, end: float | None) -> str:
    if not start:
        return "-"
    seconds = int((end or time.time()) - start)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"
