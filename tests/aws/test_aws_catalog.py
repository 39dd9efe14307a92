"""Regions, instance types (GpuInfo) with the disk cache, and vCPU quotas."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from styx.providers.aws.catalog import cache_dir
from styx.providers.aws.quota import quota_class
from tests.fakes.aws.faults import ec2_vcpu_quota


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_regions_cached_on_disk_with_ttl(make_provider: Callable[..., Any]) -> None:
    provider = make_provider()
    regions = run(provider.list_regions())
    assert regions[0] == "us-east-1" and "eu-west-1" in regions and len(regions) > 20
    assert provider.stats.calls["ec2.DescribeRegions"] == 1
    again = make_provider()  # a new process would read the same file
    assert run(again.list_regions()) == regions
    assert again.stats.total_calls == 0
    path = cache_dir() / "regions.json"
    data = json.loads(path.read_text())
    data["fetched_at"] = time.time() - 10
    path.write_text(json.dumps(data))
    stale = make_provider(catalog_ttl_s=5)
    run(stale.list_regions())
    assert stale.stats.calls["ec2.DescribeRegions"] == 1


def test_instance_types_with_gpus(make_provider: Callable[..., Any]) -> None:
    provider = make_provider()
    types = {t.name: t for t in run(provider.list_instance_types("us-east-1"))}
    assert len(types) > 500
    g5 = types["g5.xlarge"]
    assert (g5.vcpus, g5.memory_gib, g5.accelerator_name, g5.accelerator_count) == (
        4.0, 16.0, "A10G", 1)  # fmt: skip
    assert g5.accelerator_memory_gib and 21 < g5.accelerator_memory_gib < 23
    p4d = types["p4d.24xlarge"]
    assert (p4d.accelerator_name, p4d.accelerator_count, p4d.accelerator_memory_gib) == (
        "A100", 8, 40.0)  # fmt: skip
    assert types["m5.large"].accelerator_count == 0 and types["m5.large"].accelerator_name is None
    assert all(t.price_per_hour is None and t.region == "us-east-1" for t in types.values())
    assert set(g5.zones) <= {f"us-east-1{z}" for z in "abcdef"} and g5.zones
    calls = provider.stats.total_calls
    assert (cache_dir() / "instance_types-us-east-1.json").exists()
    fresh = make_provider()
    assert {t.name for t in run(fresh.list_instance_types("us-east-1"))} == set(types)
    assert fresh.stats.total_calls == 0 and calls >= 2  # offerings + types (moto: 1 page each)


def test_quota_unknown_when_service_quotas_has_no_data(provider: Any) -> None:
    info = run(provider.quota("us-east-1", "p4d.24xlarge", use_spot=True))
    assert info.known is False and info.limit is None and info.fits(1) is None
    assert info.metric == "L-7212CCBC" and "no data" in (info.reason or "")


def test_quota_known_counts_running_vcpus(provider: Any, make_request: Callable[..., Any]) -> None:
    run(provider.provision_many(make_request("q", instance_type="g5.xlarge"), 3))  # 3 x 4 vCPU
    run(provider.provision(make_request("q2", instance_type="g5.xlarge", use_spot=True)))
    run(provider.provision(make_request("q3", instance_type="m5.large")))
    with ec2_vcpu_quota("L-DB2E81BA", 16.0):
        info = run(provider.quota("us-east-1", "g5.2xlarge"))
    assert (info.known, info.limit, info.used, info.per_instance) == (True, 16.0, 12.0, 8.0)
    assert info.fits(0) is True and info.fits(1) is False  # 4 vCPUs free, 8 per instance


def test_quota_classes() -> None:
    cases = {"m5.large": "standard", "c7g.xlarge": "standard", "g5.xlarge": "g",
             "vt1.3xlarge": "g", "p5.48xlarge": "p", "inf2.xlarge": "inf", "trn1.2xlarge": "trn",
             "dl1.24xlarge": "dl", "x2idn.16xlarge": "x", "f1.2xlarge": "f",
             "u-6tb1.metal": None, "mac2.metal": None}  # fmt: skip
    assert {k: quota_class(k) for k in cases} == cases
