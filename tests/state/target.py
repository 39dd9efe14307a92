"""Where a test's state store lives: a SQLite file or a fresh PostgreSQL database. Picklable,
so that a spawned process can open the same store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from styx.state.store import StateStore


@dataclass(frozen=True)
class StateTarget:
    backend: str  # "sqlite" or "postgres"
    path: Path | None = None
    url: str | None = None

    def open(self) -> StateStore:
        return StateStore(self.path) if self.path is not None else StateStore(url=self.url)
