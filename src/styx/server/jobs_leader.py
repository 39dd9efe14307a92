"""The managed-jobs controller inside the API server, run by exactly one replica.

Why an asyncio task of the server and not the detached daemon: leadership then lives and dies
with the server process (a replica that dies drops its database session, and with it the
lock), the controller runs with the server's home, environment and cloud credentials by
construction, and an idle server holds no extra process. The controller is the same
:class:`styx.jobs.controller.Controller` the daemon runs, so a new leader adopts every
unfinished job where the old one left it, as a restarted daemon does.

The leader lock: on PostgreSQL a session advisory lock held on a dedicated connection (every
replica shares the database); always also the home's controller file lock (a kernel flock:
replicas sharing one home, and a serverless daemon of the same home, never run beside it).
Followers try again every :data:`LEADER_POLL_S` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from aiohttp import web

from styx.db.engine import ApiDatabase

LEADER_POLL_S = 1.0
HEALTH_CHECK_S = 5.0  # how often the leader checks that its lock connection still stands
IDLE_POLL_S = 0.5  # how often a leader with no controller running looks for new jobs
# pg_advisory_lock keys are one bigint namespace per database: "styxjobs" in ASCII.
_LEADER_LOCK_KEY = 0x7374797A6A6F6273

log = logging.getLogger("styx.server.jobs")


class LeaderLock:
    """The database half of the lock (PostgreSQL only) and the home's file lock."""

    def __init__(self, db: ApiDatabase) -> None:
        self.db = db
        self.conn: Any = None  # the dedicated connection holding the advisory lock
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        from styx.jobs.daemon import _try_lock

        if self.db.is_postgres and self.conn is None:
            from sqlalchemy import text

            conn = self.db.engine.connect()
            try:
                got = conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": _LEADER_LOCK_KEY}
                ).scalar()
                conn.commit()  # the lock is the session's: no transaction is left open
            except Exception:
                conn.close()
                raise
            if not got:
                conn.close()
                return False
            self.conn = conn
        self.fd = _try_lock()
        if self.fd is None:
            return False  # keep the database lock: the home's holder is about to exit
        from styx.jobs.daemon import pid_path

        pid_path().write_text(f"{os.getpid()}\n")
        return True

    def still_held(self) -> bool:
        """False when the lock connection broke (the database let the lock go)."""
        if self.conn is None:
            return True
        from sqlalchemy import text

        try:
            self.conn.execute(text("SELECT 1")).scalar()
            self.conn.commit()
        except Exception:  # noqa: BLE001 - any failure means the session (and lock) is gone
            return False
        return True

    def release(self) -> None:
        if self.fd is not None:
            from styx.jobs.daemon import pid_path

            pid_path().unlink(missing_ok=True)
            os.close(self.fd)
            self.fd = None
        if self.conn is not None:
            with contextlib.suppress(Exception):  # closing the session frees the lock anyway
                from sqlalchemy import text

                self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LEADER_LOCK_KEY})
                self.conn.commit()
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


class JobsLeader:
    """Runs the controller while this replica holds the leader lock; adopts on takeover."""

    def __init__(self, db: ApiDatabase) -> None:
        self.lock = LeaderLock(db)
        self.leading = False

    async def run(self) -> None:
        """Until cancelled (server shutdown): wait for the lock, then lead."""
        from styx.jobs.daemon import run_by_server

        run_by_server()  # commands this server runs never start a detached controller
        try:
            while True:
                try:
                    got = await asyncio.to_thread(self.lock.try_acquire)
                except Exception as exc:  # noqa: BLE001 - the database may be down a while
                    log.warning("managed jobs: leader lock: %s", exc)
                    got = False
                if got:
                    self.leading = True
                    log.info("managed jobs: this replica runs the controller")
                    try:
                        await self._lead()
                    except Exception:  # a broken controller must not end leadership for good
                        log.exception("managed jobs: the controller failed; starting it again")
                    self.leading = False
                    await asyncio.to_thread(self.lock.release)
                await asyncio.sleep(LEADER_POLL_S)
        finally:
            self.leading = False
            await asyncio.to_thread(self.lock.release)

    async def _lead(self) -> None:
        """Run the controller whenever jobs are unfinished, until the lock is lost."""
        from styx.jobs.controller import Controller
        from styx.jobs.settings import jobs_settings
        from styx.jobs.store import JobStore
        from styx.state.store import open_store

        lost = asyncio.Event()
        checker = asyncio.create_task(self._check_lock(lost))
        # The state store's connection belongs to this (the loop's) thread, as in the daemon.
        jobs = JobStore(open_store())
        try:
            while not lost.is_set():
                if jobs.active():
                    # Returns after idle_exit_s with no job left (or when the lock is lost).
                    await Controller(jobs, jobs_settings()).run(stop=lost.is_set)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), IDLE_POLL_S)
        finally:
            checker.cancel()
            await asyncio.gather(checker, return_exceptions=True)
            jobs.state.close()

    async def _check_lock(self, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(HEALTH_CHECK_S)
            if not await asyncio.to_thread(self.lock.still_held):
                log.warning("managed jobs: lost the leader lock; stopping the controller")
                lost.set()
                return


_LEADER_TASK_KEY = web.AppKey("jobs_leader", asyncio.Task)


def start_jobs_leader(app: web.Application, db: ApiDatabase) -> None:
    """Start the leader loop as a task of the server (on_startup)."""
    app[_LEADER_TASK_KEY] = asyncio.create_task(JobsLeader(db).run())


async def stop_jobs_leader(app: web.Application) -> None:
    """Cancel it (on_shutdown): running jobs are left for the next leader to adopt."""
    task = app.get(_LEADER_TASK_KEY)
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
