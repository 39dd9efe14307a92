"""Usage periods: while a cluster is billed (provisioned, up), one open period per incarnation.

A period holds the instance type, spot or on-demand, the node count and the catalog price per
node in force when the cluster was launched; it closes when the cluster stops or goes away. The
state store calls :func:`sync` inside the same write transaction as every change to a cluster's
row (launch, start, stop, down, ``status -r``), so the ledger never disagrees with the listing.
A cluster stopped or taken down by its head is closed when the client next learns of it
(``status -r``): the report may count a little more than was billed, never less.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from styx.state.backend import Connection
    from styx.state.store import StateStore

# Appended (once) to styx.state.schema.MIGRATIONS.
COST_DDL = """
CREATE TABLE cost_periods (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster TEXT NOT NULL,
    incarnation REAL NOT NULL,
    provider TEXT NOT NULL,
    region TEXT,
    instance_type TEXT,
    use_spot INTEGER NOT NULL DEFAULT 0,
    num_nodes INTEGER NOT NULL,
    node_hourly_price REAL NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL
);
CREATE INDEX cost_periods_by_cluster ON cost_periods(cluster, ended_at);
CREATE TABLE cost_caps (
    cluster TEXT PRIMARY KEY,
    max_total_cost REAL NOT NULL,
    down INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE head_reports (
    cluster TEXT PRIMARY KEY,
    message TEXT NOT NULL,
    at REAL NOT NULL
);
"""

BILLED = ("INIT", "UP")  # INIT with a price: the instances exist (provisioning, setting up)


@dataclass(frozen=True)
class Period:
    cluster: str
    incarnation: float  # the cluster's launched_at: a re-launch under the same name is new
    provider: str
    region: str | None
    instance_type: str | None
    use_spot: bool
    num_nodes: int
    node_hourly_price: float
    started_at: float
    ended_at: float | None

    @property
    def hourly_price(self) -> float:
        return self.node_hourly_price * self.num_nodes

    def hours(self, since: float = 0.0, now: float | None = None) -> float:
        """Hours billed within [since, now] (an open period runs to ``now``)."""
        end = self.ended_at if self.ended_at is not None else (now or time.time())
        return max(0.0, end - max(self.started_at, since)) / 3600.0

    def cost(self, since: float = 0.0, now: float | None = None) -> float:
        return self.hours(since, now) * self.hourly_price


def sync(db: Connection, cluster: str, now: float | None = None) -> None:
    """Open or close the cluster's period to match its row (called in the store's transaction)."""
    now = time.time() if now is None else now
    row = db.execute(
        "SELECT status, provider, region, instance_type, use_spot, num_nodes, hourly_price, "
        "launched_at FROM clusters WHERE name = ?",
        (cluster,),
    ).fetchone()
    current = db.execute(
        "SELECT id, incarnation, instance_type, use_spot, num_nodes, node_hourly_price "
        "FROM cost_periods WHERE cluster = ? AND ended_at IS NULL",
        (cluster,),
    ).fetchall()
    billed = row is not None and row[0] in BILLED and row[6] is not None and row[5] > 0
    wanted = None
    if billed:
        wanted = (row[7], row[3], int(row[4]), int(row[5]), float(row[6]) / int(row[5]))
    for open_row in current:
        if wanted is None or tuple(open_row[1:]) != wanted:
            db.execute("UPDATE cost_periods SET ended_at = ? WHERE id = ?", (now, open_row[0]))
    if wanted is not None and not any(tuple(r[1:]) == wanted for r in current):
        db.execute(
            "INSERT INTO cost_periods (cluster, incarnation, provider, region, instance_type, "
            "use_spot, num_nodes, node_hourly_price, started_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (cluster, row[7], row[1], row[2], row[3], int(row[4]), int(row[5]), wanted[4], now),
        )
    if row is None:
        db.execute("DELETE FROM cost_caps WHERE cluster = ?", (cluster,))
        db.execute("DELETE FROM head_reports WHERE cluster = ?", (cluster,))


def _period(row: Any) -> Period:
    return Period(
        cluster=row[0],
        incarnation=row[1],
        provider=row[2],
        region=row[3],
        instance_type=row[4],
        use_spot=bool(row[5]),
        num_nodes=row[6],
        node_hourly_price=row[7],
        started_at=row[8],
        ended_at=row[9],
    )


_COLUMNS = (
    "cluster, incarnation, provider, region, instance_type, use_spot, num_nodes, "
    "node_hourly_price, started_at, ended_at"
)


class CostLedger:
    """Queries over the usage periods and caps, on a StateStore's connection."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def periods(self, since: float = 0.0) -> list[Period]:
        """Periods that overlap [since, now], oldest first."""
        rows = self._store.query(
            f"SELECT {_COLUMNS} FROM cost_periods WHERE ended_at IS NULL OR ended_at > ? "
            "ORDER BY started_at, id",
            (since,),
        )
        return [_period(r) for r in rows]

    def add_period(self, period: Period) -> None:
        """Record a finished (or open) period as it was: imports, and tests with known times."""
        with self._store.write() as db:
            db.execute(
                f"INSERT INTO cost_periods ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    period.cluster,
                    period.incarnation,
                    period.provider,
                    period.region,
                    period.instance_type,
                    int(period.use_spot),
                    period.num_nodes,
                    period.node_hourly_price,
                    period.started_at,
                    period.ended_at,
                ),
            )

    def accrued(self, cluster: str, incarnation: float, now: float | None = None) -> float:
        """Dollars the cluster's current incarnation has cost so far."""
        rows = self._store.query(
            f"SELECT {_COLUMNS} FROM cost_periods WHERE cluster = ? AND incarnation = ?",
            (cluster, incarnation),
        )
        return sum(_period(r).cost(now=now) for r in rows)

    def set_cap(self, cluster: str, max_total_cost: float | None, down: bool) -> None:
        with self._store.write() as db:
            if max_total_cost is None:
                db.execute("DELETE FROM cost_caps WHERE cluster = ?", (cluster,))
            else:
                db.execute(
                    "INSERT INTO cost_caps (cluster, max_total_cost, down) VALUES (?,?,?) "
                    "ON CONFLICT(cluster) DO UPDATE SET max_total_cost = excluded.max_total_cost,"
                    " down = excluded.down",
                    (cluster, max_total_cost, int(down)),
                )

    def cap(self, cluster: str) -> tuple[float, bool] | None:
        row = self._store.query(
            "SELECT max_total_cost, down FROM cost_caps WHERE cluster = ?", (cluster,)
        )
        return (float(row[0][0]), bool(row[0][1])) if row else None

    def set_head_report(self, cluster: str, message: str | None) -> None:
        """What the head's agent last said about autostop/caps (None: nothing to report)."""
        with self._store.write() as db:
            if message:
                db.execute(
                    "INSERT INTO head_reports (cluster, message, at) VALUES (?,?,?) "
                    "ON CONFLICT(cluster) DO UPDATE SET message = excluded.message, "
                    "at = excluded.at",
                    (cluster, message, time.time()),
                )
            else:
                db.execute("DELETE FROM head_reports WHERE cluster = ?", (cluster,))

    def head_report(self, cluster: str) -> str | None:
        row = self._store.query("SELECT message FROM head_reports WHERE cluster = ?", (cluster,))
        return str(row[0][0]) if row else None
