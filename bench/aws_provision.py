"""Provisioning time and EC2 API calls per launch, AWS provider against a local moto server.

For each gang size: a fresh moto and a fresh provider (cold: image, VPC/subnet, security group
and key lookups included), then a second launch of another cluster with the same provider
(warm: cached lookups). Time runs until every instance is 'running' (polled with a separate
boto3 client, not counted). API calls are counted with a botocore 'before-call' hook on the
session the provider uses.

    PYTHONPATH=src:. python bench/aws_provision.py [--sizes 1 16 64] [--reps 3]
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

from tests.fakes.aws.moto_server import aws_env, start_moto


def wait_running(ec2: Any, native_ids: list[str]) -> None:
    while True:
        pages = ec2.get_paginator("describe_instances").paginate(InstanceIds=native_ids)
        states = [
            i["State"]["Name"] for p in pages for r in p["Reservations"] for i in r["Instances"]
        ]
        if len(states) == len(native_ids) and set(states) == {"running"}:
            return
        time.sleep(0.01)


def launch(
    provider: Any, ec2: Any, cluster: str, size: int, calls: Counter[str]
) -> tuple[float, int]:
    from styx.providers.base import ProvisionRequest

    request = ProvisionRequest(cluster_name=cluster, instance_type="m5.large", ports=(8080,))
    calls.clear()
    start = time.perf_counter()
    if size == 1:
        made = [asyncio.run(provider.provision(request))]
    else:
        made = asyncio.run(provider.provision_many(request, size))
    n_calls = sum(calls.values())
    wait_running(ec2, [i.native_id for i in made])
    return time.perf_counter() - start, n_calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    server = start_moto()
    os.environ.update(aws_env(server))
    os.environ["STYX_HOME"] = tempfile.mkdtemp(prefix="styx-bench-")
    import boto3

    from styx.providers import get_provider

    witness = boto3.client("ec2", region_name="us-east-1")
    # Warm moto's lazily loaded AMI list once so the first size is not charged for it.
    witness.describe_images(Owners=["099720109477"])
    rows = []
    for size in args.sizes:
        cold_t, warm_t, cold_c, warm_c = [], [], [], []
        for _ in range(args.reps):
            server.reset()
            session = boto3.Session()
            calls: Counter[str] = Counter()

            def count(model: Any = None, _calls: Counter[str] = calls, **_: Any) -> None:
                _calls[model.name] += 1

            session.events.register("before-call.ec2", count)
            provider = get_provider("aws", session=session)
            t, c = launch(provider, witness, f"bench-{size}-a", size, calls)
            cold_t.append(t)
            cold_c.append(c)
            t, c = launch(provider, witness, f"bench-{size}-b", size, calls)
            warm_t.append(t)
            warm_c.append(c)
        rows.append((size, statistics.median(cold_t), max(cold_c),
                     statistics.median(warm_t), max(warm_c)))  # fmt: skip
    server.stop()
    print("| nodes | cold: s to running | cold: EC2 calls | warm: s to running | warm: EC2 calls |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for size, ct, cc, wt, wc in rows:
        print(f"| {size} | {ct:.3f} | {cc} | {wt:.3f} | {wc} |")


if __name__ == "__main__":
    main()
