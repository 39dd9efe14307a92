"""Catalog load time and optimizer per-request time.

    PYTHONPATH=src python bench/optimizer_bench.py [--requests 1000] [--seed 0]

Prints: catalog load (cold, in a fresh process, and warm re-parse), the first plan() (which
builds the in-memory index), per-request plan() time over N mixed requests (median, p95, max)
and the wall time of a fresh ``python -c "import styx.optimizer; plan(...)"`` process.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from styx import catalog  # noqa: E402
from styx.optimizer import plan  # noqa: E402
from styx.providers.instance import InstanceType  # noqa: E402
from styx.resources import Resources  # noqa: E402

ACCS = ["T4", "V100", "A100", "A100-80GB", "H100", "L4", "A10G", "P100", "a100", "H100"]
REGIONS = ["us-east-1", "us-central1", "eastus", "europe-west4", "eu-west-1", "westeurope"]
INVENTORY = {"kubernetes": {"ctx": [InstanceType("4CPU--16GB", 4, 16, price_per_hour=0.05),
                                    InstanceType("8CPU--1xA100", 8, 64, "A100", 1, 40,
                                                 price_per_hour=1.2)]},
             "local": {"local": [InstanceType("local", 8, 32)]}}  # fmt: skip


def one_request(rng: random.Random) -> dict:
    data: dict = {}
    kind = rng.random()
    if kind < 0.5:
        data["accelerators"] = f"{rng.choice(ACCS)}:{rng.choice([1, 1, 2, 4, 8])}"
    if kind >= 0.3 or rng.random() < 0.3:
        data["cpus"] = f"{rng.choice([1, 2, 4, 8, 16, 32, 64])}{rng.choice(['', '+', '+'])}"
    if rng.random() < 0.4:
        data["memory"] = rng.choice(["16+", "32+", "64+", "4x", "8x", "256+"])
    if rng.random() < 0.3:
        data["use_spot"] = True
    if rng.random() < 0.25:
        data["region"] = rng.choice(REGIONS)
    if rng.random() < 0.15:
        data["cloud"] = rng.choice(["aws", "gcp", "azure"])
    if rng.random() < 0.1:
        data["max_hourly_cost"] = rng.choice([1, 5, 40])
    return data


def mixed_requests(n: int, seed: int) -> list[tuple[Resources, int, dict | None]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.1:
            data = {"any_of": [one_request(rng), one_request(rng)]}
        elif roll < 0.15:
            data = {"ordered": [one_request(rng), one_request(rng)]}
        else:
            data = one_request(rng)
        inventories = INVENTORY if rng.random() < 0.1 else None
        out.append((Resources.from_yaml(data), rng.choice([1, 1, 1, 2, 4]), inventories))
    return out


def fresh_process(code: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(SRC), "STYX_HOME": tempfile.mkdtemp()}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("STYX_HOME", tempfile.mkdtemp())

    warm = []
    for _ in range(10):
        catalog.clear_cache()
        start = time.perf_counter()
        rows = sum(len(c.rows) for c in catalog.load_all())
        warm.append(time.perf_counter() - start)
    start = time.perf_counter()
    plan(Resources.from_yaml({"cpus": "4+"}))
    first = time.perf_counter() - start

    requests = mixed_requests(args.requests, args.seed)
    times, found = [], 0
    for r, nodes, inventories in requests:
        start = time.perf_counter()
        offers = plan(r, nodes, inventories=inventories)
        times.append(time.perf_counter() - start)
        found += bool(offers)
    times.sort()
    ms = [t * 1000 for t in times]

    cold = fresh_process("import time; t=time.perf_counter(); from styx import catalog; "
                         "catalog.load_all(); print(end='')")  # fmt: skip
    baseline = fresh_process("import styx.resources")
    one_plan = fresh_process(
        "import styx.optimizer as o, styx.resources as r; "
        "o.plan(r.Resources.from_yaml({'accelerators': 'A100:8'}))"
    )

    print(f"catalog rows: {rows} (aws+gcp+azure)")
    load_ms = statistics.median(warm) * 1e3
    print(f"catalog load, 3 clouds, in-process re-parse: median {load_ms:.1f} ms, "
          f"min {min(warm) * 1e3:.1f} ms")  # fmt: skip
    print(f"first plan() incl. index build: {first * 1e3:.1f} ms")
    median = statistics.median(ms)
    print(f"plan() over {len(ms)} mixed requests ({found} feasible): median {median:.3f} ms, "
          f"p95 {ms[int(len(ms) * 0.95)]:.3f} ms, max {ms[-1]:.3f} ms")  # fmt: skip
    print(f"fresh process: python -c 'import styx.resources': {baseline*1e3:.0f} ms; "
          f"+ load 3 catalogs: {cold*1e3:.0f} ms; import styx.optimizer + one plan(A100:8): "
          f"{one_plan*1e3:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
