"""``status -r`` asks an UP head what its autostop daemon last said (e.g. why it cannot act)."""

from __future__ import annotations

import asyncio

from styx.cost.ledger import CostLedger
from styx.execution.backend import ClusterBackend
from styx.state.store import StateStore


async def refresh_head_note(
    store: StateStore, name: str, backend: ClusterBackend, timeout_s: float
) -> None:
    """Save the head's note for `styx status`; an older head (no such command) leaves none."""
    from styx.errors import StyxError

    try:
        report = await asyncio.wait_for(backend.autostop_report(), timeout_s)
    except (StyxError, TimeoutError, ValueError):
        return
    note = report.get("note")
    CostLedger(store).set_head_report(name, " ".join(str(note).split())[:200] if note else None)
