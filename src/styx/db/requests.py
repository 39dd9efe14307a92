"""Requests: each command a client sends, its status, result and output lines.

Output is stored as numbered chunks, so any server replica can stream a request that another
one runs, and a client that detached resumes from the offset it had reached.
"""

from __future__ import annotations

import enum
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from styx.db.engine import ApiDatabase


class RequestStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self in (RequestStatus.SUCCEEDED, RequestStatus.FAILED, RequestStatus.CANCELLED)


@dataclass
class RequestRecord:
    id: str
    user: str
    verb: str
    args: dict[str, Any]
    cluster: str | None
    status: RequestStatus
    result: Any
    error: str | None
    created_at: float
    updated_at: float
    finished_at: float | None

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["status"] = self.status.value
        return d


@dataclass(frozen=True)
class LogChunk:
    seq: int
    stream: str  # "output" or "progress"
    text: str


def _record(row: Any) -> RequestRecord:
    return RequestRecord(
        row.id,
        row.user_name,
        row.verb,
        json.loads(row.args),
        row.cluster,
        RequestStatus(row.status),
        json.loads(row.result) if row.result is not None else None,
        row.error,
        row.created_at,
        row.updated_at,
        row.finished_at,
    )


class RequestStore:
    def __init__(self, db: ApiDatabase) -> None:
        self.db = db

    def create(self, user: str, verb: str, args: dict[str, Any], cluster: str | None) -> str:
        from styx.db.tables import requests

        request_id = secrets.token_hex(8)
        now = time.time()
        with self.db.engine.begin() as conn:
            conn.execute(
                requests.insert().values(
                    id=request_id,
                    user_name=user,
                    verb=verb,
                    args=json.dumps(args),
                    cluster=cluster,
                    status=RequestStatus.PENDING.value,
                    cancel_requested=False,
                    created_at=now,
                    updated_at=now,
                )
            )
        return request_id

    def get(self, request_id: str) -> RequestRecord | None:
        from sqlalchemy import select

        from styx.db.tables import requests

        with self.db.engine.connect() as conn:
            row = conn.execute(select(requests).where(requests.c.id == request_id)).first()
        return _record(row) if row else None

    def list(self, user: str | None, limit: int = 100) -> list[RequestRecord]:
        from sqlalchemy import select

        from styx.db.tables import requests

        query = select(requests).order_by(requests.c.created_at.desc()).limit(limit)
        if user is not None:
            query = query.where(requests.c.user_name == user)
        with self.db.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query).all()]

    def clusters_of(self, user: str) -> set[str]:
        """Every cluster name the user's requests named (gone clusters included)."""
        from sqlalchemy import select

        from styx.db.tables import requests

        query = (
            select(requests.c.cluster)
            .where(requests.c.user_name == user, requests.c.cluster.is_not(None))
            .distinct()
        )
        with self.db.engine.connect() as conn:
            return {row.cluster for row in conn.execute(query).all()}

    def set_running(self, request_id: str, server_id: str) -> None:
        self._update(request_id, status=RequestStatus.RUNNING.value, server_id=server_id)

    def finish(
        self,
        request_id: str,
        status: RequestStatus,
        result: Any = None,
        error: str | None = None,
    ) -> None:
        self._update(
            request_id,
            status=status.value,
            result=json.dumps(result) if result is not None else None,
            error=error,
            finished_at=time.time(),
        )

    def request_cancel(self, request_id: str) -> None:
        self._update(request_id, cancel_requested=True)

    def cancel_requested(self, request_id: str) -> bool:
        from sqlalchemy import select

        from styx.db.tables import requests

        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(requests.c.cancel_requested).where(requests.c.id == request_id)
            ).first()
        return bool(row and row.cancel_requested)

    def _update(self, request_id: str, **values: Any) -> None:
        from sqlalchemy import update

        from styx.db.tables import requests

        with self.db.engine.begin() as conn:
            conn.execute(
                update(requests)
                .where(requests.c.id == request_id)
                .values(updated_at=time.time(), **values)
            )

    def append_logs(self, request_id: str, first_seq: int, chunks: list[tuple[str, str]]) -> None:
        """Store ``(stream, text)`` chunks numbered from ``first_seq``, in one transaction."""
        from styx.db.tables import request_logs

        if not chunks:
            return
        now = time.time()
        rows = [
            {"request_id": request_id, "seq": first_seq + i, "stream": s, "text": t, "at": now}
            for i, (s, t) in enumerate(chunks)
        ]
        with self.db.engine.begin() as conn:
            conn.execute(request_logs.insert(), rows)

    def logs(self, request_id: str, offset: int = 0, limit: int = 1000) -> list[LogChunk]:
        """Chunks numbered ``offset`` and after, in order."""
        from sqlalchemy import select

        from styx.db.tables import request_logs

        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(request_logs.c.seq, request_logs.c.stream, request_logs.c.text)
                .where(request_logs.c.request_id == request_id, request_logs.c.seq >= offset)
                .order_by(request_logs.c.seq)
                .limit(limit)
            ).all()
        return [LogChunk(r.seq, r.stream, r.text) for r in rows]

    def fail_orphans(self, host: str, alive: Any) -> list[str]:
        """Mark FAILED the unfinished requests of dead server processes on ``host`` (their
        ``server_id`` is ``host:pid``; ``alive(pid)`` says whether that process still runs).
        A server calls this on start: what a crashed replica was running will not finish."""
        from sqlalchemy import select

        from styx.db.tables import requests

        unfinished = (RequestStatus.PENDING.value, RequestStatus.RUNNING.value)
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(requests.c.id, requests.c.server_id).where(
                    requests.c.status.in_(unfinished), requests.c.server_id.is_not(None)
                )
            ).all()
        orphans = []
        for row in rows:
            row_host, _, pid = row.server_id.rpartition(":")
            if row_host == host and pid.isdigit() and not alive(int(pid)):
                self.finish(row.id, RequestStatus.FAILED, error="the server running it stopped")
                orphans.append(row.id)
        return orphans
