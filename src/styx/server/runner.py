"""Run requests in the background: each is an asyncio task whose output goes to the database
in batches, and which stops when any replica marks it cancelled."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

from styx.core.printer import Printer
from styx.db.requests import RequestStatus, RequestStore
from styx.db.users import User

log = logging.getLogger("styx.server")

FLUSH_INTERVAL_S = 0.2
# How long a stopping server lets its running requests finish before it interrupts them.
DEFAULT_DRAIN_S = 20.0
# What a client (or `styx api requests`) sees for a request its replica interrupted: it may
# have done part of its work, so it is not retried by itself.
INTERRUPTED_ERROR = (
    "interrupted: the API server replica running it shut down; check the cluster's state "
    "(styx status) and run the command again"
)


class Wakeups:
    """Wakes this replica's streams of a request when it stored output or finished, so that a
    short request answers at once; streams of a request run by another replica poll."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def notify(self, request_id: str) -> None:
        event = self.events.pop(request_id, None)
        if event is not None:
            event.set()

    def arm(self, request_id: str) -> asyncio.Event:
        """The event the next :meth:`notify` sets: take it before reading, wait on it after."""
        return self.events.setdefault(request_id, asyncio.Event())

    def forget(self, request_id: str) -> None:
        self.events.pop(request_id, None)

    @staticmethod
    async def wait(event: asyncio.Event, timeout: float) -> None:
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass


class RequestOutput:
    """Collects a request's output chunks; :meth:`flush` stores them, numbered in order."""

    def __init__(self, store: RequestStore, request_id: str, wakeups: Wakeups) -> None:
        self.store = store
        self.wakeups = wakeups
        self.request_id = request_id
        self.pending: list[tuple[str, str]] = []
        self.next_seq = 0

    def printer(self) -> Printer:
        return Printer(
            lambda text: self.pending.append(("output", text)),
            lambda text: self.pending.append(("progress", text)),
        )

    async def flush(self) -> None:
        chunks, self.pending = self.pending, []
        if chunks:
            first, self.next_seq = self.next_seq, self.next_seq + len(chunks)
            await asyncio.to_thread(self.store.append_logs, self.request_id, first, chunks)
            self.wakeups.notify(self.request_id)


class RequestRunner:
    def __init__(self, store: RequestStore) -> None:
        self.store = store
        self.server_id = f"{socket.gethostname()}:{os.getpid()}"
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.wakeups = Wakeups()
        self.stopping = False

    def submit(self, request_id: str, verb: str, args: dict[str, Any], user: User) -> None:
        task = asyncio.create_task(self._run(request_id, verb, args, user))
        self.tasks[request_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(request_id, None))

    async def _run(self, request_id: str, verb: str, args: dict[str, Any], user: User) -> None:
        from styx.config import REQUEST_OWNER
        from styx.server.verbs import run_verb

        REQUEST_OWNER.set(user.name)  # this task's context only
        out = RequestOutput(self.store, request_id, self.wakeups)
        await asyncio.to_thread(self.store.set_running, request_id, self.server_id)
        work = asyncio.create_task(run_verb(verb, args, user, out.printer()))
        watcher = asyncio.create_task(self._watch(request_id, work, out))
        status, result, error = RequestStatus.SUCCEEDED, None, None
        try:
            result = await work
        except asyncio.CancelledError:
            status, error = RequestStatus.CANCELLED, "cancelled"
            this = asyncio.current_task()
            if self.stopping and this is not None and this.cancelling():
                # This task was cancelled by shutdown (a user's cancel cancels only the work).
                status, error = RequestStatus.FAILED, INTERRUPTED_ERROR
        except Exception as exc:  # noqa: BLE001 - the request's failure is its result
            from styx.errors import StyxError

            status = RequestStatus.FAILED
            error = str(exc) if isinstance(exc, StyxError) else f"{type(exc).__name__}: {exc}"
            error = " ".join(error.split()) or type(exc).__name__
            # The client exits as the in-process CLI would (a failed job: the job's own code).
            result = {"exit_code": exc.exit_code if isinstance(exc, StyxError) else 1}
        finally:
            # The watcher returns as soon as the work is done; awaiting it (not cancelling it)
            # means no output insert of its can land after the request is marked finished.
            await asyncio.gather(watcher, return_exceptions=True)
            await out.flush()
            await asyncio.to_thread(self.store.finish, request_id, status, result, error)
            self.wakeups.notify(request_id)

    async def _watch(self, request_id: str, work: asyncio.Task[Any], out: RequestOutput) -> None:
        """Store output as it comes; cancel the work when a cancel is requested (by any
        replica: the flag is in the database)."""
        cancelled = False
        while not work.done():
            await asyncio.wait({work}, timeout=FLUSH_INTERVAL_S)
            await out.flush()
            if cancelled or work.done():
                continue  # cancel once: a second cancel would cut short the core's clean-up
            if await asyncio.to_thread(self.store.cancel_requested, request_id):
                work.cancel()
                cancelled = True

    async def shutdown(self, drain_s: float = DEFAULT_DRAIN_S) -> None:
        """Let running requests finish for up to ``drain_s`` seconds, then cancel the rest;
        they are marked FAILED with INTERRUPTED_ERROR, so their clients (streaming from any
        replica) learn that they did not complete."""
        self.stopping = True
        running = list(self.tasks.values())
        if running and drain_s > 0:
            log.info("draining %d running request(s), up to %gs", len(running), drain_s)
            await asyncio.wait(running, timeout=drain_s)
        left = [t for t in running if not t.done()]
        if left:
            log.warning("interrupting %d request(s) still running", len(left))
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
