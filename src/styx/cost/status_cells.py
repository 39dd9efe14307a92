"""The cost cells of `styx status`: hourly price, accrued cost against the cap, head's note."""

from __future__ import annotations

from dataclasses import dataclass

from styx.cost.ledger import CostLedger
from styx.cost.report import money
from styx.state.store import ClusterRecord, ClusterStatus, StateStore


@dataclass(frozen=True)
class CostCells:
    price: str | None  # "$3.06/h" for an UP cluster
    cost: str | None  # "$0.42 / $5.00 cap" with a cap, "$0.42" without
    head_note: str | None  # the head's last word on autostop or the cap (one line)
    accrued: float
    max_total_cost: float | None

    def to_dict(self) -> dict[str, object]:
        return {
            "accrued_cost": round(self.accrued, 6),
            "max_total_cost": self.max_total_cost,
            "head_note": self.head_note,
        }


def cost_cells(store: StateStore, record: ClusterRecord) -> CostCells:
    ledger = CostLedger(store)
    accrued = ledger.accrued(record.name, record.launched_at)
    cap = ledger.cap(record.name)
    price = None
    if record.status is ClusterStatus.UP and record.hourly_price is not None:
        price = f"{money(record.hourly_price)}/h"
    cost = money(accrued)
    # What a running head last said; once stopped, an old "cannot stop" would mislead.
    note = ledger.head_report(record.name) if record.status is not ClusterStatus.STOPPED else None
    if cap is not None:
        cost += f" / {money(cap[0])} cap"
        if accrued >= cap[0] and record.status is ClusterStatus.STOPPED and not note:
            note = "stopped: spending cap reached"
    return CostCells(price, cost, note, accrued, cap[0] if cap else None)
