"""The state store: clusters, instances, jobs, events, locks, block list, launch intents (and,
through their modules, the cost ledger, storage records and managed jobs).

It runs on one of two back-ends (:mod:`styx.state.backend`): a private SQLite file by default,
or a shared PostgreSQL database when ``STYX_DB_URL`` holds a ``postgresql://`` URL. Its SQL is
written once, in the dialect both understand.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from styx.blocklist import BlockedEntry, BlockKey
from styx.config import styx_home
from styx.cost import ledger as cost_ledger
from styx.errors import ClusterError, ProviderError, Scope, StyxError
from styx.providers.instance import Instance
from styx.state.backend import Connection, StateBackend, postgres_url
from styx.state.schema import MIGRATIONS
from styx.state.sqlite_backend import BUSY_TIMEOUT_S, SqliteBackend

__all__ = [
    "BUSY_TIMEOUT_S",
    "ClusterRecord",
    "ClusterStatus",
    "JobRecord",
    "LockBusy",
    "StateStore",
]


class ClusterStatus(enum.StrEnum):
    INIT = "INIT"  # being provisioned or set up, or in an unknown state
    UP = "UP"
    STOPPED = "STOPPED"


@dataclass
class ClusterRecord:
    name: str
    provider: str
    status: ClusterStatus
    num_nodes: int
    region: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    use_spot: bool = False
    hourly_price: float | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    task_yaml: dict[str, Any] = field(default_factory=dict)
    setup_hash: str | None = None
    autostop_minutes: float | None = None
    autostop_down: bool = False
    owner: str | None = None
    launched_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["status"] = self.status.value
        return d


@dataclass
class JobRecord:
    cluster: str
    job_id: int
    name: str | None
    status: str
    submitted_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None

    @classmethod
    def from_agent(cls, cluster: str, job: dict[str, Any]) -> JobRecord:
        """The client's copy of a job record as the head's agent reports it."""
        return cls(
            cluster,
            int(job["job_id"]),
            job.get("name"),
            job["status"],
            job.get("submitted_at"),
            job.get("ended_at"),
            job.get("exit_code"),
        )


class StateStore:
    """The state on SQLite (``StateStore(path)``) or PostgreSQL (``StateStore(url=...)``);
    :func:`open_store` picks one from ``STYX_DB_URL``."""

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, url: str | None = None
    ) -> None:
        if (path is None) == (url is None):
            raise ValueError("StateStore needs a SQLite path or a PostgreSQL URL")
        self.path = Path(path) if path is not None else None
        self._db: StateBackend
        if url is not None:
            from styx.state.postgres_backend import PostgresBackend

            self._db = PostgresBackend(url)
        else:
            self._db = SqliteBackend(path)  # type: ignore[arg-type]
        self._migrate()

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.kind

    def close(self) -> None:
        self._db.close()

    # ---- plumbing ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self._db.schema_version()
        if version > len(MIGRATIONS):
            raise StyxError(
                f"{self._db.where}: state schema v{version} is newer than this Styx "
                f"(v{len(MIGRATIONS)}); upgrade Styx"
            )
        self._db.migrate(MIGRATIONS)

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """One write transaction, taken up front so concurrent writers queue, never interleave.
        Inside it, ``query`` and the read methods see its uncommitted rows."""
        return self._db.write()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """A read (rows answer ``row["col"]``, ``row[0]``, ``dict(row)``) for modules that keep
        their own tables (e.g. styx.cost.ledger)."""
        return self._db.query(sql, params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._db.query(sql, params)
        return rows[0] if rows else None

    def schema_version(self) -> int:
        return self._db.schema_version()

    # ---- clusters ----------------------------------------------------------------------------

    def upsert_cluster(self, record: ClusterRecord) -> None:
        record.updated_at = time.time()
        if not record.launched_at:
            record.launched_at = record.updated_at
        d = record.to_dict()
        d["use_spot"] = int(record.use_spot)
        d["autostop_down"] = int(record.autostop_down)
        d["resources"] = json.dumps(record.resources)
        d["task_yaml"] = json.dumps(record.task_yaml)
        columns = ", ".join(d)
        marks = ", ".join("?" for _ in d)
        updates = ", ".join(f"{k} = excluded.{k}" for k in d if k != "name")
        with self.write() as db:
            db.execute(
                f"INSERT INTO clusters ({columns}) VALUES ({marks}) "
                f"ON CONFLICT(name) DO UPDATE SET {updates}",
                tuple(d.values()),
            )
            cost_ledger.sync(db, record.name)

    def get_cluster(self, name: str) -> ClusterRecord | None:
        row = self._one("SELECT * FROM clusters WHERE name = ?", (name,))
        return _cluster_from_row(row) if row else None

    def list_clusters(self) -> list[ClusterRecord]:
        rows = self.query("SELECT * FROM clusters ORDER BY launched_at, name")
        return [_cluster_from_row(r) for r in rows]

    def set_cluster_status(self, name: str, status: ClusterStatus) -> None:
        with self.write() as db:
            db.execute(
                "UPDATE clusters SET status = ?, updated_at = ? WHERE name = ?",
                (status.value, time.time(), name),
            )
            cost_ledger.sync(db, name)

    def set_autostop(self, name: str, minutes: float | None, down: bool) -> None:
        with self.write() as db:
            db.execute(
                "UPDATE clusters SET autostop_minutes = ?, autostop_down = ?, updated_at = ? "
                "WHERE name = ?",
                (minutes, int(down), time.time(), name),
            )

    def set_setup_hash(self, name: str, setup_hash: str | None) -> None:
        with self.write() as db:
            db.execute("UPDATE clusters SET setup_hash = ? WHERE name = ?", (setup_hash, name))

    def remove_cluster(self, name: str) -> None:
        """Forget a cluster and everything recorded about it, in one transaction."""
        with self.write() as db:
            for table, column in (
                ("clusters", "name"),
                ("instances", "cluster"),
                ("jobs", "cluster"),
                ("launch_intents", "cluster"),
            ):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (name,))
            cost_ledger.sync(db, name)  # closes its usage period; the report keeps it

    # ---- instances ---------------------------------------------------------------------------

    def save_instances(self, instances: list[Instance]) -> None:
        now = time.time()
        with self.write() as db:
            for inst in instances:
                db.execute(
                    "INSERT INTO instances (id, cluster, provider, node_rank, data, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                    "data = excluded.data, node_rank = excluded.node_rank, "
                    "updated_at = excluded.updated_at",
                    (
                        inst.id,
                        inst.cluster_name,
                        inst.provider.value,
                        inst.node_rank,
                        json.dumps(inst.to_dict()),
                        now,
                    ),
                )
                db.execute("DELETE FROM launch_intents WHERE instance_id = ?", (inst.id,))

    def instances(self, cluster: str) -> list[Instance]:
        rows = self.query(
            "SELECT data FROM instances WHERE cluster = ? ORDER BY node_rank", (cluster,)
        )
        return [Instance.from_dict(json.loads(r["data"])) for r in rows]

    def remove_instances(self, ids: list[str]) -> None:
        with self.write() as db:
            db.executemany("DELETE FROM instances WHERE id = ?", [(i,) for i in ids])
            db.executemany("DELETE FROM launch_intents WHERE instance_id = ?", [(i,) for i in ids])

    def host_key(self, instance_id: str) -> str | None:
        row = self._one("SELECT host_key FROM instances WHERE id = ?", (instance_id,))
        return row["host_key"] if row else None

    def pin_host_key(self, instance_id: str, key: str) -> None:
        with self.write() as db:
            db.execute("UPDATE instances SET host_key = ? WHERE id = ?", (key, instance_id))

    # ---- launch intents (crash safety) -------------------------------------------------------

    def record_intents(
        self,
        cluster: str,
        provider: str,
        region: str | None,
        zone: str | None,
        instance_type: str,
        instance_ids: list[str],
    ) -> None:
        """Before a cloud call: the ids we are about to create, so a crash cannot lose them."""
        now = time.time()
        with self.write() as db:
            db.executemany(
                "INSERT INTO launch_intents (instance_id, cluster, provider, region, zone, "
                "instance_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(instance_id) DO UPDATE SET cluster = excluded.cluster, "
                "provider = excluded.provider, region = excluded.region, zone = excluded.zone, "
                "instance_type = excluded.instance_type, created_at = excluded.created_at",
                [(i, cluster, provider, region, zone, instance_type, now) for i in instance_ids],
            )

    def intents(self, cluster: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT * FROM launch_intents"
        args: tuple[Any, ...] = ()
        if cluster is not None:
            query += " WHERE cluster = ?"
            args = (cluster,)
        return [dict(r) for r in self.query(query, args)]

    def clear_intents(self, instance_ids: list[str]) -> None:
        with self.write() as db:
            db.executemany(
                "DELETE FROM launch_intents WHERE instance_id = ?", [(i,) for i in instance_ids]
            )

    # ---- block list (scheduler) --------------------------------------------------------------

    def block(self, key: BlockKey, error: ProviderError, ttl_s: float) -> None:
        with self.write() as db:
            db.execute(
                "INSERT INTO blocks (provider, scope, region, zone, instance_type, family, "
                "error_class, native_code, reason, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(provider, scope, region, zone, instance_type, family) DO UPDATE "
                "SET error_class = excluded.error_class, native_code = excluded.native_code, "
                "reason = excluded.reason, expires_at = excluded.expires_at",
                (
                    key.provider,
                    key.scope.value,
                    key.region or "",
                    key.zone or "",
                    key.instance_type or "",
                    key.family or "",
                    type(error).__name__,
                    error.native_code,
                    error.message,
                    time.time() + ttl_s,
                ),
            )

    def blocked_keys(self, provider: str | None = None, now: float | None = None) -> list[BlockKey]:
        """The keys blocked now (for one provider when given)."""
        return [key for key, _row in self._blocked_rows(provider, now)]

    def blocked(self) -> list[BlockedEntry]:
        """Every active block with why and until when, soonest to expire first."""
        return [
            BlockedEntry(
                key, row["error_class"], row["native_code"], row["reason"], row["expires_at"]
            )
            for key, row in self._blocked_rows(None, None)
        ]

    def _blocked_rows(self, provider: str | None, now: float | None) -> list[tuple[BlockKey, Any]]:
        sql = "SELECT * FROM blocks WHERE expires_at > ?"
        args: tuple[Any, ...] = (now or time.time(),)
        if provider is not None:
            sql, args = sql + " AND provider = ?", (*args, provider)
        rows = self.query(sql + " ORDER BY expires_at", args)
        out = []
        for r in rows:
            try:
                scope = Scope(r["scope"])
            except ValueError:  # written by a newer Styx: not ours to interpret
                continue
            key = BlockKey(
                r["provider"],
                scope,
                r["region"] or None,
                r["zone"] or None,
                r["instance_type"] or None,
                r["family"] or None,
            )
            out.append((key, r))
        return out

    def clear_blocked(self) -> int:
        with self.write() as db:
            return db.execute("DELETE FROM blocks").rowcount

    # ---- jobs and events ---------------------------------------------------------------------

    def save_jobs(self, jobs: list[JobRecord]) -> None:
        with self.write() as db:
            db.executemany(
                "INSERT INTO jobs (cluster, job_id, name, status, submitted_at, ended_at, "
                "exit_code) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(cluster, job_id) DO UPDATE SET name = excluded.name, "
                "status = excluded.status, submitted_at = excluded.submitted_at, "
                "ended_at = excluded.ended_at, exit_code = excluded.exit_code",
                [
                    (j.cluster, j.job_id, j.name, j.status, j.submitted_at, j.ended_at, j.exit_code)
                    for j in jobs
                ],
            )

    def jobs(self, cluster: str) -> list[JobRecord]:
        rows = self.query("SELECT * FROM jobs WHERE cluster = ? ORDER BY job_id", (cluster,))
        return [JobRecord(**dict(r)) for r in rows]

    def add_event(self, cluster: str | None, kind: str, message: str) -> None:
        with self.write() as db:
            db.execute(
                "INSERT INTO events (ts, cluster, kind, message) VALUES (?, ?, ?, ?)",
                (time.time(), cluster, kind, message),
            )

    def events(self, cluster: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        if cluster is None:
            rows = self.query("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self.query(
                "SELECT * FROM events WHERE cluster = ? ORDER BY id DESC LIMIT ?", (cluster, limit)
            )
        return [dict(r) for r in reversed(rows)]

    # ---- locks -------------------------------------------------------------------------------

    def try_lock(self, name: str, owner: str, holder_gone: bool = False) -> bool:
        """Take a named lock; a lock whose holder process died on this host is taken over (and
        any other one when ``holder_gone``: the caller knows its holder's session ended)."""
        host = socket.gethostname()
        with self.write() as db:
            row = db.execute("SELECT * FROM locks WHERE name = ?", (name,)).fetchone()
            if row is not None:
                stale = holder_gone or (row["host"] == host and not pid_alive(int(row["pid"])))
                if not stale and row["owner"] != owner:
                    return False
            db.execute(
                "INSERT INTO locks (name, owner, pid, host, acquired_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, "
                "host = excluded.host, acquired_at = excluded.acquired_at",
                (name, owner, os.getpid(), host, time.time()),
            )
            return True

    def unlock(self, name: str, owner: str) -> None:
        with self.write() as db:
            db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))

    def lock_holder(self, name: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM locks WHERE name = ?", (name,))
        return dict(row) if row else None

    @contextlib.contextmanager
    def cluster_lock(self, cluster: str, wait_s: float = 0.0) -> Iterator[None]:
        """Exclusive use of a cluster name for one operation (launch, down, start, stop)."""
        try:
            with self.named_lock(f"cluster:{cluster}", wait_s):
                yield
        except LockBusy as busy:
            raise ClusterError(
                f"cluster '{cluster}' is busy: another Styx process (pid {busy.pid} on "
                f"{busy.host}) is operating on it; try again when it finishes",
                cluster=cluster,
            ) from None

    @contextlib.contextmanager
    def named_lock(self, name: str, wait_s: float = 0.0) -> Iterator[None]:
        """Exclusive use of ``name`` by this store across processes (and, on PostgreSQL,
        machines) for the block; raises :class:`LockBusy` after ``wait_s`` seconds.

        On PostgreSQL the lock is also a session lock of this process's connection: the
        database drops it when the process (or its machine) dies, so a process on another host
        can tell a dead holder from a live one. On SQLite only a holder on this host can be
        found dead (by its pid)."""
        owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        deadline = time.monotonic() + wait_s
        with self._db.session_lock(name) as take_session:
            while True:
                session = take_session()  # None on SQLite
                if session is not False and self.try_lock(name, owner, holder_gone=bool(session)):
                    break
                if time.monotonic() >= deadline:
                    holder = self.lock_holder(name) or {}
                    raise LockBusy(name, holder.get("pid", "?"), holder.get("host", "?"))
                time.sleep(0.2)
            try:
                yield
            finally:
                self.unlock(name, owner)


class LockBusy(StyxError):
    """A named lock of the state store is held by another live process."""

    def __init__(self, name: str, pid: object, host: object) -> None:
        super().__init__(f"'{name}' is held by another Styx process (pid {pid} on {host})")
        self.name, self.pid, self.host = name, pid, host


def pid_alive(pid: int) -> bool:
    """Whether a process of this host still runs (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cluster_from_row(row: Any) -> ClusterRecord:
    d = dict(row)
    d["status"] = ClusterStatus(d["status"])
    d["use_spot"] = bool(d["use_spot"])
    d["autostop_down"] = bool(d["autostop_down"])
    d["resources"] = json.loads(d["resources"] or "{}")
    d["task_yaml"] = json.loads(d["task_yaml"] or "{}")
    return ClusterRecord(**d)


def open_store(path: str | os.PathLike[str] | None = None) -> StateStore:
    """The state of this Styx: the given SQLite file; else the PostgreSQL database in
    ``STYX_DB_URL``; else ``$STYX_HOME/state.db``."""
    if path is not None:
        return StateStore(path)
    url = postgres_url()
    return StateStore(url=url) if url else StateStore(styx_home() / "state.db")
