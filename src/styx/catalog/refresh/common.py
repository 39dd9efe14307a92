"""Helpers shared by the per-cloud refreshers: shapes and zones from the current catalog."""

from __future__ import annotations

from dataclasses import dataclass

from styx.catalog.schema import CatalogRow
from styx.catalog.store import Catalog


@dataclass(frozen=True)
class Shape:
    instance_type: str
    vcpus: float
    memory_gib: float
    accelerator_name: str | None
    accelerator_count: int
    accelerator_memory_gib: float | None


def shapes(current: Catalog) -> list[Shape]:
    """Distinct shapes in the current catalog (GCP hosts appear once per attached-GPU count)."""
    seen: dict[tuple, Shape] = {}
    for r in current.rows:
        key = (r.instance_type, r.accelerator_name, r.accelerator_count)
        seen.setdefault(
            key,
            Shape(
                r.instance_type,
                r.vcpus,
                r.memory_gib,
                r.accelerator_name,
                r.accelerator_count,
                r.accelerator_memory_gib,
            ),
        )
    return list(seen.values())


def zones_lookup(current: Catalog) -> tuple[dict[tuple, tuple[str, ...]], dict[str, tuple]]:
    """(type, acc, count, region) -> zones, and region -> the widest zone list seen there."""
    exact: dict[tuple, tuple[str, ...]] = {}
    by_region: dict[str, tuple[str, ...]] = {}
    for r in current.rows:
        exact[(r.instance_type, r.accelerator_name, r.accelerator_count, r.region)] = r.zones
        if len(r.zones) > len(by_region.get(r.region, ())):
            by_region[r.region] = r.zones
    return exact, by_region


def spot_ratios(current: Catalog) -> dict[str, float]:
    """instance type -> spot/on-demand ratio in the current catalog (the estimate reused when
    the source has no spot price)."""
    ratios: dict[str, list[float]] = {}
    for r in current.rows:
        if r.spot_price is not None and r.price > 0:
            ratios.setdefault(r.instance_type, []).append(r.spot_price / r.price)
    return {k: sum(v) / len(v) for k, v in ratios.items()}


def make_row(
    cloud: str, shape: Shape, region: str, price: float, spot: float | None, zones: tuple[str, ...]
) -> CatalogRow:
    return CatalogRow(
        cloud,
        shape.instance_type,
        shape.vcpus,
        shape.memory_gib,
        shape.accelerator_name,
        shape.accelerator_count,
        shape.accelerator_memory_gib,
        round(price, 6),
        round(spot, 6) if spot is not None else None,
        region,
        zones,
    )


def zones_for(
    exact: dict[tuple, tuple[str, ...]],
    by_region: dict[str, tuple[str, ...]],
    shape: Shape,
    region: str,
) -> tuple[str, ...]:
    key = (shape.instance_type, shape.accelerator_name, shape.accelerator_count, region)
    return exact.get(key, by_region.get(region, ()))
