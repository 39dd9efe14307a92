"""The state store on a shared PostgreSQL database (``STYX_DB_URL=postgresql://...``).

The tables live in their own schema, ``styx_state``, so they never meet the API server's
``api_*`` tables (or anything else) in the same database. Every write transaction first takes
one transaction-scoped advisory lock: writers queue exactly as on SQLite's ``BEGIN IMMEDIATE``,
so the store's read-modify-write sequences (locks, cost periods) stay atomic across processes
and machines. Reads run outside any transaction and never wait.

Connections come from a small per-process pool (one per URL), so a store can be opened per
operation, and used from worker threads, without a connection per call.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from styx.errors import StyxError
from styx.state.backend import DB_URL_ENV, StateRow
from styx.state.portable import postgres_ddl, postgres_query, statements

SCHEMA = "styx_state"
# Arbitrary constants (distinct from styx.db's migration lock): the advisory locks that
# serialise the state's write transactions and its migrations.
WRITE_LOCK_KEY = 0x57A7E
MIGRATION_LOCK_KEY = 0x57A7F
SESSION_LOCK_SPACE = 0x57A7  # the first key of the store's named session locks
CONNECT_TIMEOUT_S = 10
_MAX_IDLE = 8


def _describe(url: str) -> str:
    """host:port/database of a URL, without user or password (for messages)."""
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:  # not a number: psycopg will say so
        port = "?"
    return f"{parts.hostname or 'localhost'}:{port}{parts.path or '/'}"


def _row_factory(cursor: Any) -> Any:
    index = {column.name: i for i, column in enumerate(cursor.description or [])}
    return lambda values: StateRow(values, index)


def _plain(params: Sequence[Any]) -> list[Any]:
    # SQLite keeps booleans as 0/1 in INTEGER columns; PostgreSQL would refuse a boolean there.
    return [int(v) if isinstance(v, bool) else v for v in params]


class _Pool:
    """Idle connections of one process to one URL (psycopg connections are not fork-safe, so a
    child process builds its own)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = _describe(url)
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:
            raise StyxError(
                f"{DB_URL_ENV}: PostgreSQL needs psycopg 3: pip install 'styx[server]'"
            ) from exc
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise StyxError(
                f"{DB_URL_ENV}: cannot connect to PostgreSQL at {self.where}: {reason}"
            ) from None
        except ValueError as exc:  # a malformed URL
            raise StyxError(f"{DB_URL_ENV}: not a usable PostgreSQL URL: {exc}") from None
        conn.row_factory = _row_factory
        conn.execute(f"SET search_path TO {SCHEMA}")
        # SQLite gives up on its write lock after 30 s; a writer here must not wait forever.
        conn.execute("SET lock_timeout TO '60s'")
        return conn

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed:
            conn = self._connect()
        import psycopg

        try:
            yield conn
        except psycopg.OperationalError as exc:  # the server went away, a timeout, ...
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StyxError(f"{DB_URL_ENV}: PostgreSQL at {self.where}: {reason}") from exc
        finally:
            self._give_back(conn)

    def _give_back(self, conn: Any) -> None:
        from psycopg.pq import TransactionStatus

        healthy = not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE
        with self._lock:
            if healthy and len(self._idle) < _MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


_pools: dict[tuple[str, int], _Pool] = {}
_migrated: set[tuple[str, int]] = set()
_pools_lock = threading.Lock()


def _pool_for(url: str) -> _Pool:
    import os

    key = (url, os.getpid())
    with _pools_lock:
        if key not in _pools:
            _pools[key] = _Pool(url)
        return _pools[key]


class _Transaction:
    """What ``write()`` yields: ``execute``/``executemany`` in SQLite's dialect, returning
    cursors with ``fetchone``/``fetchall``/``rowcount``."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self._conn.cursor()
        cursor.execute(postgres_query(sql), _plain(params))
        return cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        cursor = self._conn.cursor()
        cursor.executemany(postgres_query(sql), [_plain(r) for r in rows])
        return cursor


class PostgresBackend:
    kind = "postgresql"

    def __init__(self, url: str) -> None:
        self._url = url
        self.where = self._pool.where
        self._active = threading.local()  # the thread's open write transaction, if any
        with self._pool.connection():
            pass  # fail now, with one line, if the server cannot be reached

    @property
    def _pool(self) -> _Pool:
        # Looked up on each use: a forked child must not share its parent's connections.
        return _pool_for(self._url)

    def close(self) -> None:
        """Nothing per store: the pool's connections serve every store of the process."""

    @contextlib.contextmanager
    def write(self) -> Iterator[_Transaction]:
        if getattr(self._active, "tx", None) is not None:
            raise RuntimeError("a state write transaction is already open in this thread")
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            self._active.tx = _Transaction(conn)
            try:
                yield self._active.tx
            finally:
                self._active.tx = None

    @contextlib.contextmanager
    def session_lock(self, name: str) -> Iterator[Callable[[], bool]]:
        """A connection of its own for the block; ``take()`` tries a session advisory lock named
        ``name`` on it: True once held (for the rest of the block, released at its end, or by
        the server if this process dies), False while another live session holds it."""
        held = False
        with self._pool.connection() as conn:

            def take() -> bool:
                nonlocal held
                if not held:
                    held = bool(
                        conn.execute(
                            "SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                            (SESSION_LOCK_SPACE, name),
                        ).fetchone()[0]
                    )
                return held

            try:
                yield take
            finally:
                if held:
                    conn.execute(
                        "SELECT pg_advisory_unlock(%s, hashtext(%s))", (SESSION_LOCK_SPACE, name)
                    )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        tx = getattr(self._active, "tx", None)
        if tx is not None:  # inside write(): see its own uncommitted rows, as SQLite does
            return list(tx.execute(sql, params).fetchall())
        with self._pool.connection() as conn:
            return list(conn.execute(postgres_query(sql), _plain(params)).fetchall())

    def schema_version(self) -> int:
        rows = self.query(f"SELECT to_regclass('{SCHEMA}.schema_version') IS NOT NULL AS present")
        if not rows[0]["present"]:
            return 0
        return int(self.query("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0][0])

    def migrate(self, migrations: list[str]) -> None:
        key = (self._pool.url, len(migrations))
        if key in _migrated:
            return
        if self.schema_version() < len(migrations):
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version "
                    "(version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                # Re-read under the lock: another process may have migrated meanwhile.
                version = int(
                    conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[
                        0
                    ]
                )
                for number, script in enumerate(migrations[version:], start=version + 1):
                    for statement in statements(script):
                        conn.execute(postgres_ddl(statement))
                    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
        if self.schema_version() == len(migrations):
            _migrated.add(key)
