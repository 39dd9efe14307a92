"""Usage periods follow the cluster's life; cost-report multiplies time by the catalog price."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from styx.catalog.query import list_rows
from styx.cost.ledger import CostLedger, Period
from styx.cost.report import build_report
from styx.state.store import ClusterRecord, ClusterStatus, open_store
from tests.conftest import styx_env


def _catalog_price(instance_type: str, region: str = "us-east-1") -> float:
    (row,) = [r for r in list_rows("aws", region) if r.instance_type == instance_type]
    return float(row.price)


def _record(name: str, price: float | None, nodes: int = 2) -> ClusterRecord:
    return ClusterRecord(
        name=name,
        provider="aws",
        status=ClusterStatus.INIT,
        num_nodes=nodes,
        region="us-east-1",
        instance_type="m6i.large",
        hourly_price=price,
    )


@pytest.mark.usefixtures("state_target")  # on SQLite and on PostgreSQL
def test_periods_open_and_close_with_the_cluster_life(styx_home: Path) -> None:
    store = open_store()
    ledger = CostLedger(store)
    price = _catalog_price("m6i.large")
    store.upsert_cluster(_record("c1", None))  # before provisioning: nothing billed yet
    assert ledger.periods() == []
    record = _record("c1", price * 2)
    store.upsert_cluster(record)  # provisioned (INIT with the offer's price): billed
    (first,) = ledger.periods()
    assert first.ended_at is None and first.num_nodes == 2
    assert first.node_hourly_price == pytest.approx(price)
    store.set_cluster_status("c1", ClusterStatus.UP)  # same incarnation: the same period
    assert len(ledger.periods()) == 1
    store.set_cluster_status("c1", ClusterStatus.STOPPED)
    (closed,) = ledger.periods()
    assert closed.ended_at is not None
    store.set_cluster_status("c1", ClusterStatus.UP)  # started again: a new period
    periods = ledger.periods()
    assert [p.ended_at is None for p in periods] == [False, True]
    report = build_report(store, days=1)
    (row,) = report.clusters
    assert row.alive and row.running
    assert report.hourly_burn == pytest.approx(price * 2)
    store.remove_cluster("c1")  # down: the period closes, the report keeps the cluster
    report = build_report(store, days=1)
    (row,) = report.clusters
    assert not row.alive and not row.running and report.hourly_burn == 0
    assert all(p.ended_at is not None for p in ledger.periods())


@pytest.mark.usefixtures("state_target")  # on SQLite and on PostgreSQL
def test_cost_report_is_time_times_catalog_price(styx_home: Path) -> None:
    store = open_store()
    ledger = CostLedger(store)
    now = time.time()
    od, spot = _catalog_price("m6i.large"), 0.0321
    # Gone: 2 nodes for 90 minutes, on demand. Alive: 1 spot node, up for the last 30 minutes.
    ledger.add_period(Period("gone", now - 7200, "aws", "us-east-1", "m6i.large", False, 2, od,
                             now - 7200, now - 7200 + 5400))  # fmt: skip
    store.upsert_cluster(
        ClusterRecord("alive", "aws", ClusterStatus.STOPPED, 1, launched_at=now - 1800)
    )
    ledger.add_period(Period("alive", now - 1800, "aws", "us-east-1", "m6i.large", True, 1, spot,
                             now - 1800, None))  # fmt: skip
    # Outside the window: left out of a one-day report.
    ledger.add_period(Period("old", 1.0, "aws", "us-east-1", "m6i.large", False, 1, od, 1.0, 2.0))
    out = subprocess.run(
        [sys.executable, "-m", "styx.cli.main", "cost-report", "--json", "--days", "1"],
        capture_output=True, text=True, env=styx_env(styx_home), timeout=60, check=True,
    )  # fmt: skip
    report = json.loads(out.stdout)
    rows = {r["cluster"]: r for r in report["clusters"]}
    assert set(rows) == {"gone", "alive"}
    assert rows["gone"]["hours"] == pytest.approx(1.5)
    assert rows["gone"]["cost"] == pytest.approx(1.5 * 2 * od, rel=1e-6)
    assert rows["gone"]["alive"] is False and rows["gone"]["running"] is False
    (usage,) = rows["alive"]["usage"]
    assert usage["use_spot"] is True
    assert rows["alive"]["hours"] == pytest.approx(0.5, abs=0.01)
    assert rows["alive"]["cost"] == pytest.approx(0.5 * spot, abs=0.001)
    assert report["total_cost"] == pytest.approx(rows["gone"]["cost"] + rows["alive"]["cost"])
    assert report["hourly_burn"] == pytest.approx(spot)
    text = subprocess.run(
        [sys.executable, "-m", "styx.cli.main", "cost-report"],
        capture_output=True, text=True, env=styx_env(styx_home), timeout=60, check=True,
    ).stdout  # fmt: skip
    assert f"${1.5 * 2 * od:.4f}" in text and "gone" in text and "spot" in text, text
    assert f"Burning now: ${spot:.4f}/h" in text


@pytest.mark.parametrize("days", ["0", "-1", "nan", "99999"])
def test_cost_report_refuses_a_bad_window(styx_home: Path, days: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "styx.cli.main", "cost-report", "--days", days],
        capture_output=True, text=True, env=styx_env(styx_home), timeout=60,
    )  # fmt: skip
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--days" in lines[0] and "expected days" in lines[0], out.stderr


@pytest.mark.usefixtures("state_target")  # on SQLite and on PostgreSQL
def test_status_shows_price_and_cost_against_the_cap(styx_home: Path) -> None:
    store = open_store()
    price = _catalog_price("m6i.large")
    store.upsert_cluster(_record("capped", price * 2))
    store.set_cluster_status("capped", ClusterStatus.UP)
    CostLedger(store).set_cap("capped", 5.0, down=False)
    CostLedger(store).set_head_report("capped", "cannot stop: CredentialsError: no identity")
    text = subprocess.run(
        [sys.executable, "-m", "styx.cli.main", "status"],
        capture_output=True, text=True, env=styx_env(styx_home), timeout=60, check=True,
    ).stdout  # fmt: skip
    assert f"${price * 2:.4f}/h" in text, text
    assert "/ $5.00 cap" in text, text
    assert "cannot stop: CredentialsError: no identity" in text, text
    listing = subprocess.run(
        [sys.executable, "-m", "styx.cli.main", "status", "--json"],
        capture_output=True, text=True, env=styx_env(styx_home), timeout=60, check=True,
    )  # fmt: skip
    (row,) = json.loads(listing.stdout)
    assert row["max_total_cost"] == 5.0 and row["accrued_cost"] >= 0
