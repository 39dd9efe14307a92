"""What the state store needs from a database, and which database ``STYX_DB_URL`` picks.

Two back-ends implement :class:`StateBackend`: :mod:`styx.state.sqlite_backend` (the private
file ``$STYX_HOME/state.db``, the default) and :mod:`styx.state.postgres_backend` (a shared
PostgreSQL database, so that several API-server replicas, or a team's CLIs, see one state).
Both take the store's SQL in SQLite's dialect (``?`` placeholders, portable statements); rows
answer ``row["col"]``, ``row[0]`` and ``dict(row)`` on both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from styx.errors import StyxError

DB_URL_ENV = "STYX_DB_URL"  # also read by styx.db (the API server's own tables)
_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What ``StateStore.write()`` yields: one open write transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Cursor: ...


class StateBackend(Protocol):
    kind: str  # "sqlite" or "postgresql"
    where: str  # for messages: the file, or host:port/database (never a password)

    def write(self) -> AbstractContextManager[Connection]:
        """One write transaction; concurrent writers (any process) queue, never interleave."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def session_lock(self, name: str) -> AbstractContextManager[Callable[[], bool | None]]:
        """For the block: a ``take()`` that tries a lock the database itself releases when this
        process dies (True: held; False: a live process holds it; None: not supported)."""
        ...

    def schema_version(self) -> int: ...

    def migrate(self, migrations: list[str]) -> None:
        """Apply the migrations not applied yet, once, even with several processes at once."""
        ...

    def close(self) -> None: ...


class StateRow(tuple):  # type: ignore[type-arg]
    """A row that reads like ``sqlite3.Row``: by position, by column name, and as a mapping."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> StateRow:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return tuple.__iter__(self)


def postgres_url() -> str | None:
    """The PostgreSQL URL in ``STYX_DB_URL``, or None: unset, or a ``sqlite:///`` URL (that file
    holds the API server's tables; the cluster state stays in ``$STYX_HOME/state.db``)."""
    url = os.environ.get(DB_URL_ENV, "").strip()
    if not url or url.startswith("sqlite:///"):
        return None
    if url.startswith(_POSTGRES_SCHEMES):
        return "postgresql://" + url.split("://", 1)[1]
    scheme = url.split(":", 1)[0][:40]
    raise StyxError(
        f"{DB_URL_ENV}: expected a postgresql://... or sqlite:///... URL, got {scheme}:"
    )
