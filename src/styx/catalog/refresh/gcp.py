"""GCP prices from the Cloud Billing Catalog API (Compute Engine service 6F81-5844-456A).

``GET {base}/services/6F81-5844-456A/skus?currencyCode=USD`` (``key=$STYX_GCP_API_KEY`` when
set; Google requires an API key, a mirror may not), following ``nextPageToken``. Machine prices
are per component: ``<Family> Instance Core`` per vCPU-hour, ``... Ram`` per GiB-hour and
``Nvidia ... GPU`` per GPU-hour, ``OnDemand`` or ``Preemptible`` (spot) usage, for each region
in ``serviceRegions``. A row's price is vcpus x core + memory x ram + gpus x gpu. Shapes come
from the current catalog (machine types need credentials to list).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import Any

from styx.catalog.refresh.common import make_row, shapes, zones_for, zones_lookup
from styx.catalog.refresh.http import base_url, get_json
from styx.catalog.schema import CatalogRow, RefreshError
from styx.catalog.store import Catalog

DEFAULT_URL = "https://cloudbilling.googleapis.com/v1"
SERVICE = "6F81-5844-456A"
MAX_PAGES = 200
NOTES = "component prices (core, RAM, GPU) from the Cloud Billing Catalog API; spot = Preemptible"

_FAMILY = {
    "E2": "e2",
    "N1 Predefined": "n1",
    "N2": "n2",
    "Compute optimized": "c2",
    "C3": "c3",
    "A2": "a2",
    "A3": "a3",
    "A4": "a4",
    "G2": "g2",
}
_GPU = {
    "T4": "T4",
    "V100": "V100",
    "P100": "P100",
    "A100": "A100",
    "A100 80GB": "A100-80GB",
    "H100 80GB": "H100",
    "H200 141GB": "H200",
    "B200": "B200",
    "L4": "L4",
}
_MACHINE_RE = re.compile(
    r"^(?:Spot Preemptible )?(" + "|".join(_FAMILY) + r")(?: Instance)? (Core|Ram) running in "
)
_GPU_NAMES = "|".join(sorted(_GPU, key=len, reverse=True))
_GPU_RE = re.compile(
    r"^(?:Spot Preemptible )?Nvidia (?:Tesla )?(" + _GPU_NAMES + r") GPU running in "
)

Prices = dict[tuple[str, str, str, bool], float]  # (family|gpu, component, region, spot) -> $


def _unit_price(sku: dict[str, Any]) -> float | None:
    try:
        rates = sku["pricingInfo"][0]["pricingExpression"]["tieredRates"]
        unit = rates[-1]["unitPrice"]
        return int(unit.get("units") or 0) + int(unit.get("nanos") or 0) / 1e9
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def component_prices(skus: list[dict[str, Any]]) -> Prices:
    prices: Prices = {}
    for sku in skus:
        usage = sku.get("category", {}).get("usageType")
        if usage not in ("OnDemand", "Preemptible"):
            continue
        desc = sku.get("description", "")
        if m := _MACHINE_RE.match(desc):
            key = (_FAMILY[m.group(1)], m.group(2).lower())
        elif m := _GPU_RE.match(desc):
            key = (_GPU[m.group(1)], "gpu")
        else:
            continue
        price = _unit_price(sku)
        if price is None:
            continue
        for region in sku.get("serviceRegions", []):
            prices[(*key, region, usage == "Preemptible")] = price
    return prices


def _price(
    prices: Prices,
    family: str,
    vcpus: float,
    mem: float,
    gpu: str | None,
    count: int,
    region: str,
    spot: bool,
) -> float | None:
    core = prices.get((family, "core", region, spot))
    ram = prices.get((family, "ram", region, spot))
    if core is None or ram is None:
        return None
    total = vcpus * core + mem * ram
    if gpu:
        per_gpu = prices.get((gpu, "gpu", region, spot))
        if per_gpu is None:
            return None
        total += count * per_gpu
    return total


def fetch(current: Catalog, timeout: float | None = None) -> tuple[list[CatalogRow], str]:
    base = base_url("STYX_GCP_BILLING_URL", DEFAULT_URL)
    params = {"currencyCode": "USD", "pageSize": "5000"}
    if os.environ.get("STYX_GCP_API_KEY"):
        params["key"] = os.environ["STYX_GCP_API_KEY"]
    skus: list[dict[str, Any]] = []
    token = ""
    for _ in range(MAX_PAGES):
        query = dict(params, **({"pageToken": token} if token else {}))
        page = get_json(f"{base}/services/{SERVICE}/skus?{urllib.parse.urlencode(query)}", timeout)
        if not isinstance(page, dict) or not isinstance(page.get("skus", []), list):
            raise RefreshError("gcp: response has no 'skus' list; catalog unchanged")
        skus.extend(page.get("skus", []))
        token = page.get("nextPageToken") or ""
        if not token:
            break
    prices = component_prices(skus)
    exact_zones, region_zones = zones_lookup(current)
    rows: list[CatalogRow] = []
    for shape in shapes(current):
        family = shape.instance_type.split("-")[0]
        for region in sorted(region_zones):
            args = (
                prices,
                family,
                shape.vcpus,
                shape.memory_gib,
                shape.accelerator_name,
                shape.accelerator_count,
                region,
            )
            price = _price(*args, False)
            if price is None:
                continue
            zones = zones_for(exact_zones, region_zones, shape, region)
            rows.append(make_row("gcp", shape, region, price, _price(*args, True), zones))
    return rows, f"GCP Cloud Billing Catalog API ({base})"
