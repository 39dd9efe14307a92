"""The head node's job queue: its own SQLite file inside the agent root."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from styx.agent.protocol import STATUSES, TERMINAL, JobInfo

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    status TEXT NOT NULL,
    submitted_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    exit_code INTEGER,
    failed_node TEXT,
    message TEXT,
    driver_pid INTEGER
)
"""


class JobQueue:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self._db = sqlite3.connect(str(root / "agent.db"), timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        # Two agent calls creating the file at once may see "locked" here: SQLite does not
        # wait on a journal-mode change, so retry briefly.
        for _ in range(200):
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute(_SCHEMA)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(self, name: str | None) -> int:
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO jobs (name, status, submitted_at) VALUES (?, 'PENDING', ?)",
                (name, time.time()),
            )
            return int(cur.lastrowid or 0)

    def get(self, job_id: int) -> JobInfo | None:
        row = self._db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return JobInfo(**dict(row)) if row else None

    def all(self) -> list[JobInfo]:
        return [JobInfo(**dict(r)) for r in self._db.execute("SELECT * FROM jobs ORDER BY job_id")]

    def update(self, job_id: int, **fields: Any) -> None:
        if "status" in fields:
            assert fields["status"] in STATUSES, fields["status"]
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._write() as db:
            db.execute(f"UPDATE jobs SET {sets} WHERE job_id = ?", (*fields.values(), job_id))

    def finish(self, job_id: int, status: str, **fields: Any) -> bool:
        """Move a job to a terminal status unless it already has one (cancel races the driver)."""
        with self._write() as db:
            row = db.execute("SELECT status FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None or row["status"] in TERMINAL:
                return False
            sets = ", ".join(f"{k} = ?" for k in ("status", "ended_at", *fields))
            db.execute(
                f"UPDATE jobs SET {sets} WHERE job_id = ?",
                (status, time.time(), *fields.values(), job_id),
            )
            return True

    def last_activity(self) -> float:
        """When the cluster last had work: now if a job is live, else the last job's end."""
        rows = self._db.execute("SELECT status, submitted_at, ended_at FROM jobs").fetchall()
        latest = 0.0
        for row in rows:
            if row["status"] not in TERMINAL:
                return time.time()
            latest = max(latest, row["ended_at"] or row["submitted_at"] or 0.0)
        return latest
