"""A brute-force reference for the optimizer: scan every catalog row (and inventory type) and
check each constraint directly, with no index. Tests compare plan() against it."""

from __future__ import annotations

from styx import catalog
from styx.providers.instance import InstanceType
from styx.resources import Quantity, Resources

CATALOG = ("aws", "gcp", "azure")


def _rows(cloud: str, inventories: dict) -> list[tuple]:
    """(region, type, vcpus, mem, acc, count, on-demand, spot, zones)"""
    if cloud in inventories:
        out = []
        for region, types in inventories[cloud].items():
            for t in types:
                assert isinstance(t, InstanceType)
                out.append((t.region or region, t.name, t.vcpus, t.memory_gib,
                            t.accelerator_name, t.accelerator_count, t.price_per_hour or 0.0,
                            t.spot_price_per_hour, t.zones))  # fmt: skip
        return out
    return [(r.region, r.instance_type, r.vcpus, r.memory_gib, r.accelerator_name,
             r.accelerator_count, r.price, r.spot_price, r.zones)
            for r in catalog.load(cloud).rows]  # fmt: skip


def _default_family(cloud: str, itype: str) -> bool:
    if cloud == "aws":
        return itype.split(".")[0] in ("m6i", "m7i", "c6i", "c7i", "r6i", "r7i")
    if cloud == "gcp":
        return itype.rsplit("-", 1)[0] in ("n2-standard", "n2-highmem", "n2-highcpu")
    if cloud == "azure":
        size = itype.removeprefix("Standard_")
        return (size[0] in "DE" and size.endswith("s_v5")) or (
            size[0] == "F" and size.endswith("s_v2")
        )
    return True


def feasible(r: Resources, num_nodes: int = 1, clouds=None, inventories=None) -> dict[tuple, float]:
    """identity (cloud, region, type, spot, acc, count) -> total hourly price."""
    inventories = inventories or {}
    enabled = list(clouds) if clouds is not None else [*CATALOG, *inventories]
    out: dict[tuple, float] = {}
    for cand in r.candidates():
        for cloud in enabled:
            if cloud not in inventories and cloud not in CATALOG:
                continue
            if cand.cloud and cand.cloud != cloud:
                continue
            cpus, memory = cand.cpus, cand.memory
            # SkyPilot's defaults, written out from its catalog code: a CPU-only request with
            # no instance type gets 8+ vCPUs when it names neither cpus nor memory, 4 GiB per
            # vCPU when it names no memory, and only the current m/c/r-style families.
            defaulted = (cloud not in inventories and not cand.accelerators
                         and not cand.instance_type)  # fmt: skip
            if defaulted:
                if cpus is None and memory is None:
                    cpus = Quantity(8, at_least=True)
                if memory is None:
                    memory = Quantity(4, per_cpu=True)
            for region, itype, vcpus, mem, acc, count, od, spot, zones in _rows(cloud, inventories):
                if cand.region and region != cand.region:
                    continue
                if cand.zone and cand.zone not in zones:
                    continue
                if cand.accelerators:
                    name, n = cand.accelerators[0]
                    if (acc or "").lower() != name.lower() or count != n:
                        continue
                    if cand.instance_type and itype.lower() != cand.instance_type.lower():
                        continue
                elif cand.instance_type:
                    if itype.lower() != cand.instance_type.lower():
                        continue
                    plain_exists = any(
                        x[1].lower() == itype.lower() and not x[5]
                        for x in _rows(cloud, inventories)
                    )
                    if count and plain_exists:
                        continue
                elif count:
                    continue
                if defaulted and not _default_family(cloud, itype):
                    continue
                if cpus is not None and not cpus.admits(vcpus):
                    continue
                if memory is not None and not memory.admits(mem, vcpus):
                    continue
                price = spot if cand.use_spot else od
                if price is None:
                    continue
                total = price * num_nodes
                if cand.max_hourly_cost is not None and total > cand.max_hourly_cost + 1e-9:
                    continue
                out[(cloud, region, itype, cand.use_spot, acc, count)] = total
    return out
