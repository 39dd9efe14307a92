"""Failover through 19 AWS regions on moto, where every region but the last has no capacity.

    PYTHONPATH=src:. .venv/bin/python bench/failover_bench.py [--reps 3]

Prints wall time from the first attempt to the instance launched in the 19th region, and the
EC2/STS/Service Quotas API calls spent (counted server-side). Goal: <= 5 s wall.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter
from typing import Any

from tests.fakes.aws.faults import capacity_missing_in
from tests.fakes.aws.moto_server import aws_env, start_moto

IMAGE = "ami-785db401"
LAST_CALLS: Counter[str] = Counter()


def count_calls(counter: Counter[str]) -> Any:
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action

    def counting(self: Any) -> Any:
        counter[self._get_action()] += 1
        return original(self)

    BaseResponse.call_action = counting  # type: ignore[method-assign]
    return lambda: setattr(BaseResponse, "call_action", original)


def run_once(regions: list[str], zones: dict[str, tuple[str, ...]]) -> tuple[float, int, int]:
    from styx.optimizer import Offer
    from styx.placement import provider_factory, reset_providers
    from styx.providers.base import ProvisionRequest
    from styx.scheduler import Scheduler
    from styx.state.store import StateStore

    reset_providers()
    home = tempfile.mkdtemp(prefix="styx-fo-")
    os.environ["STYX_HOME"] = home
    offers = [Offer("aws", r, "m5.large", False, 2, 8, None, 0, 0.096 + i / 1000, zones=zones[r])
              for i, r in enumerate(regions)]  # fmt: skip
    store = StateStore(os.path.join(home, "state.db"))
    scheduler = Scheduler(store, provider_factory())
    template = ProvisionRequest(cluster_name="fo", instance_type="x", image_id=IMAGE)
    calls: Counter[str] = Counter()
    undo = count_calls(calls)
    try:
        with capacity_missing_in(regions=set(regions[:-1])):
            start = time.perf_counter()
            outcome = asyncio.run(scheduler.provision(offers, "fo", template, 1))
            elapsed = time.perf_counter() - start
    finally:
        undo()
    assert outcome.offer.region == regions[-1]
    store.close()
    import shutil

    shutil.rmtree(home, ignore_errors=True)
    LAST_CALLS.clear()
    LAST_CALLS.update(calls)
    return elapsed, sum(calls.values()), len(outcome.history)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    server = start_moto()
    os.environ.update(aws_env(server))
    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1")
    regions = sorted(r["RegionName"] for r in ec2.describe_regions()["Regions"])[:19]
    zones = {}
    for r in regions:
        azs = boto3.client("ec2", region_name=r).describe_availability_zones()
        zones[r] = tuple(sorted(z["ZoneName"] for z in azs["AvailabilityZones"]))
    results = []
    for _ in range(args.reps):
        server.reset()
        results.append(run_once(regions, zones))
    wall = statistics.median(r[0] for r in results)
    print(f"regions: {len(regions)}, zones tried: {results[0][2] + 1}")
    print(
        f"failover wall time: median {wall:.2f} s over {args.reps} runs "
        f"({', '.join(f'{r[0]:.2f}' for r in results)})"
    )
    print(f"API calls (server-side): {results[0][1]}")
    print("by action:", dict(LAST_CALLS.most_common()))
    server.stop()


if __name__ == "__main__":
    main()
