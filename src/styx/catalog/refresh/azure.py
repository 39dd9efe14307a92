"""Azure prices from the public Retail Prices API (no credentials needed).

``GET {base}?$filter=serviceName eq 'Virtual Machines' and armRegionName eq '<region>' and
priceType eq 'Consumption'``, following ``NextPageLink`` until it is null. Items with
``Windows`` in productName are skipped; ``Spot`` in skuName gives the spot price, ``Low
Priority`` is ignored. The API carries no shapes: vCPUs, memory and GPUs come from the current
catalog, so only instance types it already knows are refreshed.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from styx.catalog.refresh.common import make_row, shapes, zones_for, zones_lookup
from styx.catalog.refresh.http import base_url, get_json
from styx.catalog.schema import CatalogRow, RefreshError
from styx.catalog.store import Catalog

DEFAULT_URL = "https://prices.azure.com/api/retail/prices"
API_VERSION = "2023-01-01-preview"
MAX_PAGES = 500  # a runaway NextPageLink loop must end
NOTES = "on-demand and spot from the Azure Retail Prices API (Linux, Consumption)"


def region_prices(items: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, float]]:
    """(armSkuName -> on-demand $/h, armSkuName -> spot $/h) from Retail Prices items."""
    on_demand: dict[str, float] = {}
    spot: dict[str, float] = {}
    for item in items:
        product = item.get("productName", "")
        sku_name = item.get("skuName", "")
        if (
            "Windows" in product
            or "Low Priority" in sku_name
            or item.get("unitOfMeasure", "1 Hour") != "1 Hour"
            or item.get("type", "Consumption") != "Consumption"
        ):
            continue
        try:
            name, price = str(item["armSkuName"]), float(item["retailPrice"])
        except (KeyError, ValueError, TypeError):
            continue
        target = spot if "Spot" in sku_name else on_demand
        if price > 0:
            target[name] = min(price, target.get(name, price))
    return on_demand, spot


def fetch(current: Catalog, timeout: float | None = None) -> tuple[list[CatalogRow], str]:
    base = base_url("STYX_AZURE_PRICES_URL", DEFAULT_URL)
    exact_zones, region_zones = zones_lookup(current)
    known = shapes(current)
    rows: list[CatalogRow] = []
    for region in sorted(region_zones):
        query = (
            f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' "
            "and priceType eq 'Consumption'"
        )
        url: str | None = (
            base + "?" + urllib.parse.urlencode({"api-version": API_VERSION, "$filter": query})
        )
        items: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if not url:
                break
            page = get_json(url, timeout)
            if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
                raise RefreshError(f"azure/{region}: response has no 'Items'; catalog unchanged")
            items.extend(page["Items"])
            url = page.get("NextPageLink")
        on_demand, spot = region_prices(items)
        for shape in known:
            price = on_demand.get(shape.instance_type)
            if price is None:
                continue
            zones = zones_for(exact_zones, region_zones, shape, region)
            rows.append(
                make_row("azure", shape, region, price, spot.get(shape.instance_type), zones)
            )
    return rows, f"Azure Retail Prices API ({base})"
