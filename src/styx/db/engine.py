"""Open the server's database and bring its schema up to date.

``STYX_DB_URL`` picks the database (``postgresql://user@host:port/db`` uses psycopg 3); without
it, a private SQLite file ``$STYX_HOME/server/api.db``. Migrations are a positional list: each
entry takes the schema from version N to N+1, applied once, in one transaction, under a lock so
that replicas starting together do not race.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from styx.config import styx_home
from styx.errors import StyxError

DB_URL_ENV = "STYX_DB_URL"
# An arbitrary constant: the PostgreSQL advisory lock that serialises migrations.
_MIGRATION_LOCK_KEY = 0x57F1A


def _v1(conn: Any) -> None:
    from styx.db import tables

    tables.metadata.create_all(conn)


# Append only; never edit a released entry.
MIGRATIONS: list[Callable[[Any], None]] = [_v1]


def server_home() -> Path:
    home = styx_home() / "server"
    home.mkdir(mode=0o700, exist_ok=True)
    return home


def database_url() -> str:
    url = os.environ.get(DB_URL_ENV, "").strip()
    if not url:
        return f"sqlite:///{server_home() / 'api.db'}"
    if url.startswith(("postgresql://", "postgres://")):
        # SQLAlchemy's default PostgreSQL driver is psycopg2; Styx uses psycopg 3.
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith(("postgresql+psycopg://", "sqlite:///")):
        return url
    scheme = url.split(":", 1)[0][:40]
    raise StyxError(
        f"{DB_URL_ENV}: expected a postgresql://... or sqlite:///... URL, got {scheme}:"
    )


@dataclass
class ApiDatabase:
    engine: Any  # sqlalchemy.engine.Engine

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def version(self) -> int:
        from sqlalchemy import func, inspect, select

        from styx.db.tables import schema_version

        if not inspect(self.engine).has_table(schema_version.name):
            return 0
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)

    def migrate(self) -> int:
        """Apply the migrations not applied yet; return the schema version."""
        from sqlalchemy import func, inspect, select, text

        from styx.db.tables import schema_version

        with self.engine.begin() as conn:
            if self.is_postgres:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            current = 0
            if inspect(conn).has_table(schema_version.name):
                current = int(
                    conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
                )
            else:
                schema_version.create(conn)
            if current > len(MIGRATIONS):
                raise StyxError(
                    f"the API database is at schema version {current}, newer than this Styx "
                    f"({len(MIGRATIONS)}): upgrade Styx"
                )
            for version in range(current + 1, len(MIGRATIONS) + 1):
                MIGRATIONS[version - 1](conn)
                conn.execute(
                    schema_version.insert().values(version=version, applied_at=time.time())
                )
            return len(MIGRATIONS)

    def close(self) -> None:
        self.engine.dispose()


def _private_sqlite(path: Path) -> None:
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def open_database(url: str | None = None, *, migrate: bool = True) -> ApiDatabase:
    """The server's database at ``url`` (default: :func:`database_url`), migrated."""
    try:
        from sqlalchemy import create_engine, event
    except ImportError as exc:
        raise StyxError("the API server needs its extra: pip install 'styx[server]'") from exc

    url = url or database_url()
    if url.startswith("sqlite:///"):
        _private_sqlite(Path(url[len("sqlite:///") :]))
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    db = ApiDatabase(engine)
    if migrate:
        try:
            db.migrate()
        except StyxError:
            raise
        except Exception as exc:
            engine.dispose()
            raise StyxError(f"cannot open the API database: {type(exc).__name__}: {exc}") from exc
    return db
