"""Instance types and regions from the EC2 API, cached on disk under $STYX_HOME/cache/aws.

A full DescribeInstanceTypes listing is ~15 pages, so it is fetched once per region per TTL and
shared by every Styx process. Prices stay None here: the catalog fills them.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from styx.config import styx_home
from styx.providers.aws.api import Api
from styx.providers.instance import InstanceType


def cache_dir() -> Path:
    return styx_home() / "cache" / "aws"


def _read(path: Path, ttl_s: float) -> Any | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if time.time() - float(data.get("fetched_at", 0)) > ttl_s:
        return None
    return data.get("items")


def _write(path: Path, items: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"fetched_at": time.time(), "items": items}))
    os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one


class Catalog:
    def __init__(self, api: Api) -> None:
        self.api = api
        self._types: dict[str, list[InstanceType]] = {}

    async def regions(self) -> list[str]:
        path = cache_dir() / "regions.json"
        cached = _read(path, self.api.settings.catalog_ttl_s)
        if cached is None:
            found = await self.api.call("ec2", self.api.default_region, "describe_regions")
            cached = sorted(r["RegionName"] for r in found.get("Regions") or [])
            _write(path, cached)
        return list(cached)

    async def instance_types(self, region: str) -> list[InstanceType]:
        if region in self._types:
            return self._types[region]
        path = cache_dir() / f"instance_types-{region}.json"
        cached = _read(path, self.api.settings.catalog_ttl_s)
        if cached is None:
            types = await self._fetch(region)
            _write(path, [asdict(t) for t in types])
        else:
            types = [InstanceType(**{**d, "zones": tuple(d["zones"])}) for d in cached]
        self._types[region] = types
        return types

    async def _fetch(self, region: str) -> list[InstanceType]:
        offerings = await self.api.pages(
            "ec2",
            region,
            "describe_instance_type_offerings",
            "InstanceTypeOfferings",
            LocationType="availability-zone",
            MaxResults=1000,
        )
        zones: dict[str, set[str]] = defaultdict(set)
        for o in offerings:
            zones[o["InstanceType"]].add(o["Location"])
        raw = await self.api.pages(
            "ec2", region, "describe_instance_types", "InstanceTypes", MaxResults=100
        )
        types = [to_instance_type(r, region, tuple(sorted(zones[r["InstanceType"]]))) for r in raw]
        # Offerings say what this region sells; with no offering data keep everything.
        if zones:
            types = [t for t in types if t.zones]
        return sorted(types, key=lambda t: t.name)

    async def vcpus(self, region: str, names: list[str]) -> dict[str, float]:
        """vCPUs per type for a few types (one call, no full listing)."""
        if not names:
            return {}
        found = await self.api.call(
            "ec2", region, "describe_instance_types", InstanceTypes=sorted(set(names))
        )
        return {
            t["InstanceType"]: float(t["VCpuInfo"]["DefaultVCpus"])
            for t in found.get("InstanceTypes") or []
        }


def to_instance_type(raw: dict[str, Any], region: str, zones: tuple[str, ...]) -> InstanceType:
    name, count, mem_mib = None, 0, None
    gpus = (raw.get("GpuInfo") or {}).get("Gpus") or []
    neuron = (raw.get("NeuronInfo") or {}).get("NeuronDevices") or []
    if gpus:
        name = gpus[0].get("Name")
        count = sum(int(g.get("Count", 0)) for g in gpus)
        mem_mib = (gpus[0].get("MemoryInfo") or {}).get("SizeInMiB")
    elif neuron:  # Trainium / Inferentia: accelerators the optimizer can ask for by name
        name = neuron[0].get("Name")
        count = sum(int(n.get("Count", 0)) for n in neuron)
        mem_mib = (neuron[0].get("MemoryInfo") or {}).get("SizeInMiB")
    return InstanceType(
        name=raw["InstanceType"],
        vcpus=float(raw["VCpuInfo"]["DefaultVCpus"]),
        memory_gib=round(raw["MemoryInfo"]["SizeInMiB"] / 1024, 2),
        accelerator_name=name,
        accelerator_count=count,
        accelerator_memory_gib=round(mem_mib / 1024, 2) if mem_mib else None,
        region=region,
        zones=zones,
    )
