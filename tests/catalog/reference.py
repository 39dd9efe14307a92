"""A brute-force reference for the optimizer, written from the task-file rules alone.

It reads the raw ``resources`` mapping (what a user writes), not Styx's ``Resources`` or
``Quantity``: it flattens ``any_of``/``ordered`` and accelerator lists itself, parses ``4``,
``4+`` and ``4x`` itself, applies SkyPilot's default (a cloud task that names no cpus, memory,
accelerator or instance type gets ``cpus: 4+``) itself, and checks each constraint against
every catalog row (and inventory type) in plain loops, with no index. Tests compare plan()
against it, so a shared mistake in the model cannot hide a wrong answer.
"""

from __future__ import annotations

from typing import Any

from styx import catalog
from styx.providers.instance import InstanceType

CATALOG = ("aws", "gcp", "azure")
ALIASES = {"k8s": "kubernetes"}
DEFAULT_CLOUD_CPUS = "8+"  # SkyPilot: a CPU-only task naming neither cpus nor memory
Row = tuple[str, str, float, float, str | None, int | None, float, float | None, tuple[str, ...]]


def _rows(cloud: str, inventories: dict) -> list[Row]:
    """(region, type, vcpus, mem, acc, count, on-demand, spot, zones)"""
    out: list[Row] = []
    if cloud in inventories:
        for region, types in inventories[cloud].items():
            for t in types:
                assert isinstance(t, InstanceType)
                out.append((t.region or region, t.name, t.vcpus, t.memory_gib,
                            t.accelerator_name, t.accelerator_count,
                            t.price_per_hour or 0.0, t.spot_price_per_hour,
                            tuple(t.zones or ())))  # fmt: skip
        return out
    for r in catalog.load(cloud).rows:
        out.append((r.region, r.instance_type, r.vcpus, r.memory_gib, r.accelerator_name,
                    r.accelerator_count, r.price, r.spot_price, tuple(r.zones or ())))  # fmt: skip
    return out


def admits(wanted: Any, offered: float, vcpus: float = 0.0) -> bool:
    """``4`` exactly 4, ``'4+'`` at least 4, ``'4x'`` at least 4 per vCPU (memory)."""
    text = str(wanted).strip()
    if text.endswith("x"):
        return offered + 1e-9 >= float(text[:-1]) * vcpus
    if text.endswith("+"):
        return offered + 1e-9 >= float(text[:-1])
    return abs(offered - float(text)) < 1e-6


def _accelerator(text: str) -> tuple[str, int]:
    name, _, count = text.partition(":")
    return name.strip(), int(count) if count else 1


def _accelerator_choices(value: Any) -> list[tuple[str, int] | None]:
    if value is None:
        return [None]
    if isinstance(value, str):
        return [_accelerator(value)]
    if isinstance(value, list):
        return [_accelerator(v) for v in value]
    return [(str(k), int(v)) for k, v in value.items()]


def _place(branch: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(cloud, region, zone) from ``infra: cloud/region/zone`` or the separate fields."""
    if branch.get("infra"):
        parts = [p if p != "*" else None for p in str(branch["infra"]).split("/")]
        parts += [None] * (3 - len(parts))
        cloud, region, zone = parts[:3]
    else:
        cloud, region, zone = branch.get("cloud"), branch.get("region"), branch.get("zone")
    if cloud:
        cloud = ALIASES.get(cloud.lower(), cloud.lower())
    return cloud, region, zone


def choices(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every single choice the request allows: each any_of/ordered branch (its fields override
    the top level; naming a cloud or infra drops the top level's placement), times each
    accelerator of a list. Each choice has ``acc`` (name, count) or None."""
    top = {k: v for k, v in data.items() if k not in ("any_of", "ordered")}
    out = []
    for item in data.get("ordered") or data.get("any_of") or [{}]:
        merged = dict(top)
        if "infra" in item or "cloud" in item:
            for key in ("infra", "cloud", "region", "zone"):
                merged.pop(key, None)
        merged.update(item)
        for acc in _accelerator_choices(merged.get("accelerators")):
            out.append({**merged, "acc": acc})
    return out


def row_fits(
    choice: dict[str, Any], cloud: str, row: Row, rows: list[Row], inventory: bool
) -> bool:
    """Does one catalog row satisfy one choice (everything but price)?"""
    want_cloud, want_region, want_zone = _place(choice)
    region, itype, vcpus, mem, acc, count, _, _, zones = row
    if want_cloud and want_cloud != cloud:
        return False
    if want_region and region != want_region:
        return False
    if want_zone and want_zone not in zones:
        return False
    pinned_type = choice.get("instance_type")
    if choice["acc"] is not None:
        name, n = choice["acc"]
        if (acc or "").lower() != name.lower() or count != n:
            return False
        if pinned_type and itype.lower() != str(pinned_type).lower():
            return False
    elif pinned_type:
        if itype.lower() != str(pinned_type).lower():
            return False
        # A GCP host type named alone means the plain machine, not one with GPUs attached.
        if count and any(r[1].lower() == itype.lower() and not r[5] for r in rows):
            return False
    elif count:
        return False  # a request without accelerators never gets a GPU machine
    cpus, memory = choice.get("cpus"), choice.get("memory")
    # SkyPilot's defaults, written out from its catalog code: a CPU-only request with no
    # instance type gets 8+ vCPUs when it names neither cpus nor memory, 4 GiB per vCPU when it
    # names no memory, and only the current m/c/r-style families.
    defaulted = not inventory and choice["acc"] is None and not pinned_type
    if defaulted:
        if not _default_family(cloud, itype):
            return False
        if cpus is None and memory is None:
            cpus = DEFAULT_CLOUD_CPUS
        if memory is None:
            memory = "4x"
    if cpus is not None and not admits(cpus, vcpus):
        return False
    return memory is None or admits(memory, mem, vcpus)


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


def feasible(data: dict[str, Any], num_nodes: int = 1, clouds=None, inventories=None) -> dict:
    """identity (cloud, region, type, spot, acc, count) -> total hourly price."""
    inventories = inventories or {}
    enabled = list(clouds) if clouds is not None else [*CATALOG, *inventories]
    out: dict[tuple, float] = {}
    for choice in choices(data):
        spot = bool(choice.get("use_spot"))
        for cloud in enabled:
            if cloud not in inventories and cloud not in CATALOG:
                continue
            rows = _rows(cloud, inventories)
            for row in rows:
                if not row_fits(choice, cloud, row, rows, cloud in inventories):
                    continue
                price = row[7] if spot else row[6]
                if price is None:
                    continue
                total = price * num_nodes
                cap = choice.get("max_hourly_cost")
                if cap is not None and total > float(cap) + 1e-9:
                    continue
                out[(cloud, row[0], row[1], spot, row[4], row[5])] = total
    return out
