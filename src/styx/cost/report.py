"""``styx cost-report``: what each cluster (alive or gone) cost over the last N days."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from styx.cost.ledger import CostLedger, Period
from styx.state.store import StateStore

MAX_DAYS = 3660  # ten years: a bound, so a typo cannot ask for the age of the universe


@dataclass
class UsageLine:
    """Time on one instance type and price kind within a cluster."""

    instance_type: str | None
    use_spot: bool
    num_nodes: int
    node_hourly_price: float
    hours: float
    cost: float


@dataclass
class ClusterCost:
    cluster: str
    provider: str
    region: str | None
    alive: bool  # the cluster is still in `styx status`
    running: bool  # billed now (an open period)
    hourly_price: float  # what it burns now (0 unless running)
    hours: float
    cost: float
    usage: list[UsageLine] = field(default_factory=list)


@dataclass
class CostReport:
    days: float
    since: float
    clusters: list[ClusterCost]
    total_cost: float
    hourly_burn: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_report(store: StateStore, days: float, now: float | None = None) -> CostReport:
    """Per-cluster cost within the last ``days`` (periods clipped to the window)."""
    now = time.time() if now is None else now
    since = now - days * 86400
    alive = {r.name: r.launched_at for r in store.list_clusters()}
    by_cluster: dict[tuple[str, float], list[Period]] = {}
    for period in CostLedger(store).periods(since):
        by_cluster.setdefault((period.cluster, period.incarnation), []).append(period)
    rows = []
    for (name, incarnation), periods in by_cluster.items():
        usage: dict[tuple[str | None, bool, int, float], UsageLine] = {}
        for p in periods:
            key = (p.instance_type, p.use_spot, p.num_nodes, p.node_hourly_price)
            line = usage.setdefault(key, UsageLine(*key, hours=0.0, cost=0.0))
            line.hours += p.hours(since, now)
            line.cost += p.cost(since, now)
        running = [p for p in periods if p.ended_at is None]
        rows.append(
            ClusterCost(
                cluster=name,
                provider=periods[-1].provider,
                region=periods[-1].region,
                alive=alive.get(name) == incarnation,
                running=bool(running),
                hourly_price=sum(p.hourly_price for p in running),
                hours=sum(p.hours(since, now) for p in periods),
                cost=sum(p.cost(since, now) for p in periods),
                usage=list(usage.values()),
            )
        )
    return CostReport(
        days=days,
        since=since,
        clusters=rows,
        total_cost=sum(r.cost for r in rows),
        hourly_burn=sum(r.hourly_price for r in rows),
    )


def money(value: float) -> str:
    """Dollars with cents, or more digits for sub-cent amounts (test prices, short runs)."""
    return f"${value:,.2f}" if value >= 1 or value == 0 else f"${value:.4f}"
