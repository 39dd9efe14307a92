"""AWS prices from the public Price List bulk offer files (no credentials needed).

For each region in the current catalog: ``GET {base}/offers/v1.0/aws/AmazonEC2/current/
{region}/index.json`` and read ``products`` (shape: instanceType, vcpu, memory, gpu) and
``terms.OnDemand`` (USD per hour), keeping Linux, shared tenancy, no pre-installed software,
``capacitystatus == Used``. Families are those already in the catalog; new sizes of them are
picked up. Spot prices need DescribeSpotPriceHistory (credentials); without it the current
spot/on-demand ratio of the type is kept, as documented in the file's notes.
"""

from __future__ import annotations

from typing import Any

from styx.catalog.refresh.common import (
    Shape,
    make_row,
    shapes,
    spot_ratios,
    zones_for,
    zones_lookup,
)
from styx.catalog.refresh.http import base_url, get_json
from styx.catalog.schema import CatalogRow, RefreshError
from styx.catalog.store import Catalog

DEFAULT_URL = "https://pricing.us-east-1.amazonaws.com"
NOTES = (
    "on-demand from the AWS Price List bulk offer files; spot prices keep the previous "
    "spot/on-demand ratio (estimate)"
)
FAMILY_GPU = {
    "g4dn": ("T4", 16.0),
    "g5": ("A10G", 24.0),
    "g6": ("L4", 24.0),
    "p3": ("V100", 16.0),
    "p3dn": ("V100-32GB", 32.0),
    "p4d": ("A100", 40.0),
    "p4de": ("A100-80GB", 80.0),
    "p5": ("H100", 80.0),
    "p5e": ("H200", 141.0),
    "p5en": ("H200", 141.0),
    "p6-b200": ("B200", 180.0),
    "g6e": ("L40S", 48.0),
}


def _memory_gib(text: str) -> float:
    return float(text.replace(",", "").split()[0])


def _on_demand_prices(offer: dict[str, Any]) -> dict[str, float]:
    prices: dict[str, float] = {}
    for sku, terms in (offer.get("terms", {}).get("OnDemand") or {}).items():
        for term in terms.values():
            for dim in term.get("priceDimensions", {}).values():
                usd = dim.get("pricePerUnit", {}).get("USD")
                if usd is not None and dim.get("unit", "Hrs") == "Hrs":
                    prices[sku] = float(usd)
    return prices


def parse_offer_file(offer: dict[str, Any], families: set[str]) -> list[tuple[Shape, float]]:
    """(shape, on-demand $/h) for Linux shared-tenancy instances of ``families``."""
    prices = _on_demand_prices(offer)
    out = []
    for sku, product in (offer.get("products") or {}).items():
        a = product.get("attributes", {})
        itype = a.get("instanceType", "")
        family = itype.split(".")[0]
        if (
            family not in families
            or a.get("operatingSystem") != "Linux"
            or a.get("tenancy", "Shared") != "Shared"
            or a.get("preInstalledSw", "NA") != "NA"
            or a.get("capacitystatus", "Used") != "Used"
            or sku not in prices
            or prices[sku] <= 0
        ):
            continue
        try:
            gpus = int(a.get("gpu") or 0)
            gpu_name, gpu_mem = FAMILY_GPU.get(family, (None, None)) if gpus else (None, None)
            shape = Shape(
                itype,
                float(a["vcpu"]),
                _memory_gib(a["memory"]),
                gpu_name,
                gpus if gpu_name else 0,
                gpu_mem,
            )
        except (KeyError, ValueError, IndexError):
            continue
        out.append((shape, prices[sku]))
    return out


def fetch(current: Catalog, timeout: float | None = None) -> tuple[list[CatalogRow], str]:
    base = base_url("STYX_AWS_PRICING_URL", DEFAULT_URL)
    known = {s.instance_type: s for s in shapes(current)}
    families = {name.split(".")[0] for name in known}
    exact_zones, region_zones = zones_lookup(current)
    ratios = spot_ratios(current)
    rows: list[CatalogRow] = []
    for region in sorted(region_zones):
        offer = get_json(f"{base}/offers/v1.0/aws/AmazonEC2/current/{region}/index.json", timeout)
        if not isinstance(offer, dict) or "products" not in offer:
            raise RefreshError(f"aws/{region}: offer file has no 'products'; catalog unchanged")
        for shape, price in parse_offer_file(offer, families):
            # Keep the catalog's accelerator naming (and memory) for types it already knows;
            # the offer files count GPUs only, so Inferentia/Trainium types come without one.
            old = known.get(shape.instance_type)
            if old is not None and shape.accelerator_count in (old.accelerator_count, 0):
                shape = Shape(
                    shape.instance_type,
                    shape.vcpus,
                    shape.memory_gib,
                    old.accelerator_name,
                    old.accelerator_count,
                    old.accelerator_memory_gib,
                )
            zones = zones_for(exact_zones, region_zones, shape, region)
            ratio = ratios.get(shape.instance_type, 0.35)
            rows.append(make_row("aws", shape, region, price, price * ratio, zones))
    return rows, f"AWS Price List bulk offer files ({base})"
