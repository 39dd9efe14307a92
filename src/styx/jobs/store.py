"""Managed jobs in the state store: the queries, on the StateStore's connection."""

from __future__ import annotations

import json
import time
from typing import Any

from styx.jobs.models import FINAL_STATUSES, ManagedJob, ManagedJobStatus
from styx.state.store import StateStore

_FINAL = tuple(s.value for s in FINAL_STATUSES)
_MARKS = ", ".join("?" for _ in _FINAL)


class JobStore:
    def __init__(self, store: StateStore) -> None:
        self.state = store

    def add(
        self,
        task_yaml: dict[str, Any],
        *,
        name: str | None,
        base_dir: str | None,
        retry_until_up: bool = False,
        pipeline: str | None = None,
        pipeline_id: int | None = None,
        stage: int | None = None,
        num_stages: int | None = None,
        owner: str | None = None,
    ) -> int:
        now = time.time()
        with self.state.write() as db:
            cur = db.execute(
                "INSERT INTO managed_jobs (name, status, task_yaml, base_dir, task_id, "
                "retry_until_up, pipeline, pipeline_id, stage, num_stages, submitted_at, "
                "updated_at, owner) VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING job_id",
                (
                    name,
                    ManagedJobStatus.PENDING.value,
                    json.dumps(task_yaml),
                    base_dir,
                    int(retry_until_up),
                    pipeline,
                    pipeline_id,
                    stage,
                    num_stages,
                    now,
                    now,
                    owner,
                ),
            )
            job_id = int(cur.fetchone()[0])
            # Stays the same across recoveries, so checkpoints can be named by it.
            stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now))
            db.execute(
                "UPDATE managed_jobs SET task_id = ?, pipeline_id = COALESCE(pipeline_id, "
                "CASE WHEN stage IS NOT NULL THEN ? END) WHERE job_id = ?",
                (f"sky-managed-{stamp}_{job_id}", job_id, job_id),
            )
        return job_id

    def get(self, job_id: int) -> ManagedJob | None:
        rows = self.state.query("SELECT * FROM managed_jobs WHERE job_id = ?", (job_id,))
        return ManagedJob.from_row(dict(rows[0])) if rows else None

    def list(self, include_final: bool = True, limit: int | None = None) -> list[ManagedJob]:
        sql = "SELECT * FROM managed_jobs"
        args: list[Any] = []
        if not include_final:
            sql += f" WHERE status NOT IN ({_MARKS})"
            args.extend(_FINAL)
        sql += " ORDER BY job_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = self.state.query(sql, tuple(args))
        return [ManagedJob.from_row(dict(r)) for r in reversed(rows)]

    def active(self) -> list[ManagedJob]:
        return self.list(include_final=False)

    def update(self, job_id: int, **values: Any) -> None:
        """Set columns of one job (status given as a ManagedJobStatus or its text)."""
        if "status" in values:
            values["status"] = ManagedJobStatus(values["status"]).value
        values["updated_at"] = time.time()
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.state.write() as db:
            db.execute(
                f"UPDATE managed_jobs SET {sets} WHERE job_id = ?", [*values.values(), job_id]
            )

    def finish(
        self,
        job_id: int,
        status: ManagedJobStatus,
        reason: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        self.update(
            job_id, status=status, ended_at=time.time(), failure_reason=reason, exit_code=exit_code
        )

    def request_cancel(self, job_ids: list[int]) -> list[int]:
        """Mark unfinished jobs for cancelling; returns those marked."""
        marked = []
        with self.state.write() as db:
            for job_id in job_ids:
                cur = db.execute(
                    "UPDATE managed_jobs SET cancel_requested = 1, updated_at = ? "
                    f"WHERE job_id = ? AND status NOT IN ({_MARKS})",
                    (time.time(), job_id, *_FINAL),
                )
                if cur.rowcount:
                    marked.append(job_id)
        return marked

    def stages(self, pipeline_id: int) -> list[ManagedJob]:
        rows = self.state.query(
            "SELECT * FROM managed_jobs WHERE pipeline_id = ? ORDER BY stage", (pipeline_id,)
        )
        return [ManagedJob.from_row(dict(r)) for r in rows]
