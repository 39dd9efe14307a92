"""Read-only views of the catalog for the CLI: accelerator summaries and filtered listings."""

from __future__ import annotations

from dataclasses import dataclass

from styx.catalog.schema import CATALOG_CLOUDS, CatalogRow
from styx.catalog.store import load
from styx.resources import Quantity


@dataclass(frozen=True)
class GpuOffer:
    """One accelerator (and count) in one cloud: the instance types and the price range."""

    accelerator: str
    memory_gib: float | None
    count: int
    cloud: str
    instance_types: tuple[str, ...]
    min_price: float
    max_price: float
    min_spot_price: float | None
    regions: int


def _clouds(cloud: str | None) -> tuple[str, ...]:
    return (cloud,) if cloud else CATALOG_CLOUDS


def gpu_offers(name: str | None = None, cloud: str | None = None) -> list[GpuOffer]:
    """Accelerator offers grouped by (name, count, cloud); ``name`` matches case-insensitively."""
    groups: dict[tuple[str, int, str], list[CatalogRow]] = {}
    for c in _clouds(cloud):
        for row in load(c).rows:
            if not row.accelerator_name:
                continue
            if name and row.accelerator_name.lower() != name.lower():
                continue
            groups.setdefault((row.accelerator_name, row.accelerator_count, c), []).append(row)
    out = []
    for (acc, count, c), rows in groups.items():
        spots = [r.spot_price for r in rows if r.spot_price is not None]
        types = tuple(dict.fromkeys(r.instance_type for r in sorted(rows, key=lambda r: r.price)))
        out.append(
            GpuOffer(
                acc,
                rows[0].accelerator_memory_gib,
                count,
                c,
                types,
                min(r.price for r in rows),
                max(r.price for r in rows),
                min(spots) if spots else None,
                len({r.region for r in rows}),
            )
        )
    out.sort(key=lambda g: (g.accelerator.lower(), g.count, g.min_price, g.cloud))
    return out


def accelerator_names(cloud: str | None = None) -> list[str]:
    return sorted(
        {r.accelerator_name for c in _clouds(cloud) for r in load(c).rows if r.accelerator_name}
    )


def list_rows(
    cloud: str | None = None,
    region: str | None = None,
    gpu: tuple[str, int | None] | None = None,
    cpus: Quantity | None = None,
    memory: Quantity | None = None,
) -> list[CatalogRow]:
    """Catalog rows matching every given filter, cheapest first. ``gpu`` = (name, count or
    None for any count); without ``gpu`` every row (CPU and GPU) is listed."""
    out = []
    for c in _clouds(cloud):
        for row in load(c).rows:
            if region and row.region != region:
                continue
            if gpu:
                name, count = gpu
                if (row.accelerator_name or "").lower() != name.lower():
                    continue
                if count is not None and row.accelerator_count != count:
                    continue
            if cpus and not cpus.admits(row.vcpus):
                continue
            if memory and not memory.admits(row.memory_gib, row.vcpus):
                continue
            out.append(row)
    out.sort(key=lambda r: (r.price, r.vcpus, r.memory_gib, r.cloud, r.region, r.instance_type))
    return out
