"""Client side of spending caps: remember the cap and hand it to the cluster's head."""

from __future__ import annotations

from collections.abc import Callable

from styx.cost.ledger import CostLedger
from styx.execution.backend import ClusterBackend
from styx.state.store import StateStore


async def send_cap(
    store: StateStore, backend: ClusterBackend, name: str, max_total_cost: float, down: bool
) -> None:
    """Record the cap and give it to the head with the price and what was spent so far.

    The head enforces it from then on by itself (``styx.agent.caps``), client offline or not.
    """
    ledger = CostLedger(store)
    ledger.set_cap(name, max_total_cost, down)
    record = store.get_cluster(name)
    if record is None:
        return
    accrued = ledger.accrued(name, record.launched_at)
    await backend.set_cost_cap(max_total_cost, record.hourly_price or 0.0, accrued, down)


async def prepare_head(
    store: StateStore, backend: ClusterBackend, progress: Callable[[str], None] | None = None
) -> None:
    """Before the head is asked to act on its own (autostop, cap): its provider's SDK.

    A head that cannot get it keeps the setting; the reason is saved for `styx status` and
    printed, so that it is never a silent failure.
    """
    from styx.runtime.head_sdk import ensure_head_sdk

    reason = await ensure_head_sdk(backend.head, backend.record.provider)
    if reason:
        CostLedger(store).set_head_report(backend.record.name, reason)
        if progress is not None:
            progress(f"warning: {reason}; the head cannot stop its cluster by itself")
