"""Cost ledger and report: the price of recording usage and of `styx cost-report`.

    PYTHONPATH=src:. .venv/bin/python bench/cost_bench.py [--periods 10000]

Prints the median time of one cluster status change with and without the ledger's sync (it runs
in the same write transaction), and of building the report over N recorded periods.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--periods", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STYX_HOME"] = tmp
        from styx.cost import ledger
        from styx.cost.ledger import CostLedger, Period
        from styx.cost.report import build_report
        from styx.state.store import ClusterRecord, ClusterStatus, open_store

        store = open_store(Path(tmp) / "state.db")
        record = ClusterRecord("c", "aws", ClusterStatus.UP, 2, hourly_price=0.192)
        store.upsert_cluster(record)
        times = []
        for i in range(200):
            status = ClusterStatus.STOPPED if i % 2 else ClusterStatus.UP
            t0 = time.perf_counter()
            store.set_cluster_status("c", status)
            times.append(time.perf_counter() - t0)
        with_sync = statistics.median(times)
        original = ledger.sync
        ledger.sync = lambda *a, **k: None  # type: ignore[assignment]
        times = []
        for i in range(200):
            status = ClusterStatus.STOPPED if i % 2 else ClusterStatus.UP
            t0 = time.perf_counter()
            store.set_cluster_status("c", status)
            times.append(time.perf_counter() - t0)
        ledger.sync = original  # type: ignore[assignment]
        without = statistics.median(times)
        book = CostLedger(store)
        now = time.time()
        for i in range(args.periods):
            start = now - 86400 * 20 + i * 60
            name = f"c{i % 500}"
            period = Period(name, float(i % 500), "aws", "us-east-1", "m6i.large", bool(i % 3),
                            2, 0.096, start, start + 50)  # fmt: skip
            book.add_period(period)
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            report = build_report(store, 30)
            runs.append(time.perf_counter() - t0)
        print(f"status change: {with_sync * 1e3:.2f} ms with the ledger, "
              f"{without * 1e3:.2f} ms without (median of 200)")  # fmt: skip
        print(f"cost-report over {args.periods} periods, {len(report.clusters)} clusters: "
              f"{statistics.median(runs) * 1e3:.1f} ms (median of 5)")  # fmt: skip


if __name__ == "__main__":
    main()
