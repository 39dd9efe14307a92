"""What Azure offers: VM sizes (resource SKUs, or vmSizes where SKUs are not served), regions,
and the vCPU quota for a size."""

from __future__ import annotations

import re
from typing import Any

from styx.providers.abilities import QuotaInfo
from styx.providers.azure.clients import AzureClients, as_json_list
from styx.providers.instance import InstanceType

# Size-name pattern -> (GPU name, GiB per GPU). Azure's size names encode the GPU model.
GPU_PATTERNS: tuple[tuple[str, str, float], ...] = (
    (r"H200", "H200", 141.0),
    (r"H100", "H100", 80.0),
    (r"A100", "A100", 80.0),
    (r"MI300X", "MI300X", 192.0),
    (r"A10", "A10", 24.0),
    (r"T4", "T4", 16.0),
    (r"^Standard_NC\d+s_v3$", "V100", 16.0),
    (r"^Standard_ND\d+rs_v2$", "V100", 32.0),
)


def gpu_of(size: str) -> tuple[str | None, float | None]:
    for pattern, name, mem in GPU_PATTERNS:
        if re.search(pattern, size):
            return name, mem
    return None, None


def _caps(sku: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["value"] for c in sku.get("capabilities") or []}


def _zones(sku: dict[str, Any], region: str) -> tuple[str, ...]:
    for info in sku.get("locationInfo") or []:
        if info.get("location", "").lower() == region.lower():
            return tuple(sorted(info.get("zones") or []))
    return ()


async def vm_skus(az: AzureClients, region: str) -> list[dict[str, Any]]:
    """Unrestricted virtualMachines SKUs offered in ``region``."""
    flt = f"location eq '{region}'"
    rows = await az.call(
        lambda: as_json_list(az.compute.resource_skus.list(filter=flt)), region=region
    )
    return [
        r
        for r in rows
        if r.get("resourceType") == "virtualMachines"
        and not any(
            x.get("reasonCode") == "NotAvailableForSubscription"
            for x in r.get("restrictions") or []
        )
    ]


async def instance_types(az: AzureClients, region: str) -> list[InstanceType]:
    skus = await vm_skus(az, region)
    types = []
    for sku in skus:
        caps = _caps(sku)
        gpus = int(float(caps.get("GPUs", "0")))
        gpu, gpu_mem = gpu_of(sku["name"]) if gpus else (None, None)
        types.append(
            InstanceType(
                name=sku["name"],
                vcpus=float(caps.get("vCPUs", 0)),
                memory_gib=float(caps.get("MemoryGB", 0)),
                accelerator_name=gpu,
                accelerator_count=gpus,
                accelerator_memory_gib=gpu_mem,
                region=region,
                zones=_zones(sku, region),
            )
        )
    if types:
        return types
    # Azure Stack and some sovereign endpoints do not serve resource SKUs: fall back to vmSizes.
    sizes = await az.call(
        lambda: as_json_list(az.compute.virtual_machine_sizes.list(region)), region=region
    )
    out = []
    for s in sizes:
        gpu, gpu_mem = gpu_of(s["name"])
        out.append(
            InstanceType(
                name=s["name"],
                vcpus=float(s["numberOfCores"]),
                memory_gib=s["memoryInMB"] / 1024,
                accelerator_name=gpu,
                accelerator_count=1 if gpu else 0,
                accelerator_memory_gib=gpu_mem,
                region=region,
            )
        )
    return out


async def regions(az: AzureClients) -> list[str]:
    if az.settings.regions:
        return list(az.settings.regions)
    sub = az.settings.subscription_id
    body = await az.call(az.get_json, f"/subscriptions/{sub}/locations", az.SUBSCRIPTIONS_API)
    return sorted(
        loc["name"]
        for loc in body.get("value", [])
        if (loc.get("metadata") or {}).get("regionType", "Physical") == "Physical"
    )


async def quota(az: AzureClients, region: str, size: str, use_spot: bool) -> QuotaInfo:
    """vCPU quota for one size in one region (the tighter of its family's and the regional
    total "cores"; spot VMs count only against "lowPriorityCores")."""
    skus = await vm_skus(az, region)
    sku = next((s for s in skus if s["name"].lower() == size.lower()), None)
    family = sku.get("family") if sku else None
    needed = float(_caps(sku).get("vCPUs", 0)) if sku else None
    rows = await az.call(lambda: as_json_list(az.compute.usage.list(region)), region=region)
    by_name = {r["name"]["value"].lower(): r for r in rows}
    wanted = ["lowprioritycores"] if use_spot else [n.lower() for n in (family, "cores") if n]
    found = [by_name[n] for n in wanted if n in by_name]
    if not found or (not use_spot and family is None):
        reason = f"Azure reports no vCPU quota for {size} in {region}"
        return QuotaInfo(region, size, family, None, None, needed, reason=reason)
    tightest = min(found, key=lambda r: int(r["limit"]) - int(r["currentValue"]))
    metric = str(tightest["name"]["value"])
    limit, used = float(tightest["limit"]), float(tightest["currentValue"])
    return QuotaInfo(region, size, metric, limit, used, needed)
