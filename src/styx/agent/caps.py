"""The head's spending cap: accrued cost from the catalog price and the head's own clock.

The client sends the cap, the cluster's hourly price and what the cluster had cost until then
(``agent cap``); from that moment the head counts on by itself, so the cap holds with the client
offline. ``since`` is the head's clock, taken when the cap is written.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class CostCap:
    max_total_cost: float
    hourly_price: float
    accrued_before: float
    since: float
    down: bool = False

    def accrued(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        return self.accrued_before + max(0.0, now - self.since) / 3600.0 * self.hourly_price

    def reached(self, now: float | None = None) -> bool:
        return self.accrued(now) >= self.max_total_cost


def load_cap(root: Path) -> CostCap | None:
    try:
        return CostCap(**json.loads((root / "cap.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def save_cap(root: Path, cap: CostCap | None) -> None:
    if cap is None:
        (root / "cap.json").unlink(missing_ok=True)
        return
    tmp = root / "cap.json.tmp"
    tmp.write_text(json.dumps(asdict(cap)))
    os.replace(tmp, root / "cap.json")
