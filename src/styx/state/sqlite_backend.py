"""The state store on one private SQLite file (the default).

WAL mode and ``BEGIN IMMEDIATE`` write transactions let several Styx processes share the file
safely: readers never block, writers queue on SQLite's own lock (with a busy timeout) instead of
corrupting each other.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from styx.errors import StyxError
from styx.state.portable import statements

BUSY_TIMEOUT_S = 30.0


def _create_private(path: Path) -> None:
    """Create ``path`` as 0600 unless it exists; tighten it (and -wal/-shm) if it is wider."""
    from styx.config import make_private

    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists():
            make_private(candidate)


class SqliteBackend:
    kind = "sqlite"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _create_private(self.path)  # SQLite gives -wal and -shm the database file's mode
        self._conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self._enable_wal()
        self._conn.execute("PRAGMA synchronous = NORMAL")

    def _enable_wal(self) -> None:
        """Switch to WAL. Two processes creating the file at once can see 'database is locked'
        here even with a busy timeout (SQLite does not wait on this change): retry."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise StyxError(f"{self.path}: cannot open the state file: {exc}") from exc
                time.sleep(0.05)

    def close(self) -> None:
        self._conn.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def session_lock(self, name: str) -> Iterator[Callable[[], bool | None]]:
        """No sessions that outlive a process here: the store checks pids instead."""
        yield lambda: None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._conn.execute(sql, params).fetchall()

    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, migrations: list[str]) -> None:
        if self.schema_version() >= len(migrations):
            return
        with self.write():
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = self.schema_version()
            for number, script in enumerate(migrations[version:], start=version + 1):
                for statement in statements(script):
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {number}")
