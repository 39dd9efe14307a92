"""The state store on SQLite vs PostgreSQL (a throwaway Debian PostgreSQL, as in the tests):
opening the store, a cluster status change (with the cost ledger's sync in the same write
transaction), and listing 100 clusters.

    PYTHONPATH=src:. .venv/bin/python bench/state_bench.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.api.postgres import postgres_server
from tests.conftest import fresh_database

from styx.state.store import ClusterRecord, ClusterStatus, StateStore


def timed(func: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and p99 in milliseconds."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def measure(name: str, open_store: Callable[[], StateStore], runs: int) -> None:
    store = open_store()
    for i in range(100):
        store.upsert_cluster(
            ClusterRecord(f"c{i:03d}", "aws", ClusterStatus.UP, 2, "us-east-1",
                          instance_type="m6i.large", hourly_price=0.192)
        )  # fmt: skip
    flip = iter([ClusterStatus.STOPPED, ClusterStatus.UP] * runs)

    def status_change() -> None:
        store.set_cluster_status("c050", next(flip))

    rows = [
        ("open the store", timed(open_store, runs)),
        ("status change + ledger sync", timed(status_change, runs)),
        ("list 100 clusters", timed(store.list_clusters, runs)),
        ("get one cluster", timed(lambda: store.get_cluster("c050"), runs)),
    ]  # fmt: skip
    for what, (median, p99) in rows:
        print(f"| {name} | {what} | {median:.3f} ms | {p99:.3f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    print("| back-end | operation | median | p99 |\n| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.db"
        measure("SQLite", lambda: StateStore(path), runs)
    with postgres_server() as base:
        url = fresh_database(base)
        measure("PostgreSQL", lambda: StateStore(url=url), runs)


if __name__ == "__main__":
    main()
