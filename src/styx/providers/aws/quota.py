"""vCPU quotas from Service Quotas, for the scheduler to skip regions that cannot fit a launch."""

from __future__ import annotations

import re
from typing import Any

from styx.errors import ProviderError
from styx.providers.abilities import QuotaInfo
from styx.providers.aws.api import Api
from styx.providers.aws.catalog import Catalog

# EC2 vCPU quota codes by instance class: (on-demand, spot). Families not listed here (u-*,
# mac*, hpc*) have per-type quotas and are reported as unknown.
QUOTA_CODES: dict[str, tuple[str, str]] = {
    "standard": ("L-1216C47A", "L-34B43A08"),  # A, C, D, H, I, M, R, T, Z
    "g": ("L-DB2E81BA", "L-3819A6DF"),  # G and VT
    "p": ("L-417A185B", "L-7212CCBC"),
    "f": ("L-74FC7D96", "L-88CF9481"),
    "x": ("L-7295265B", "L-E3A00192"),
    "inf": ("L-1945791B", "L-B5D1601B"),
    "dl": ("L-6E869C2A", "L-85EED4F7"),
    "trn": ("L-2C3B7624", "L-6B0D517C"),
}
_PREFIX_CLASS = [
    ("inf", "inf"),
    ("trn", "trn"),
    ("dl", "dl"),
    ("vt", "g"),
    ("g", "g"),
    ("p", "p"),
    ("f", "f"),
    ("x", "x"),
]
_STANDARD = set("acdhimrtz")
# Service Quotas answers these when it has no value for the account/region (moto: always).
_NO_DATA = {"NoSuchResourceException", "NoSuchResource", "ResourceNotFoundException"}


def quota_class(instance_type: str) -> str | None:
    family = re.match(r"[a-z]+", instance_type.lower())
    letters = family.group(0) if family else ""
    for prefix, cls in _PREFIX_CLASS:
        if letters.startswith(prefix):
            return cls
    return "standard" if letters[:1] in _STANDARD and letters not in ("u", "mac", "hpc") else None


async def check_quota(
    api: Api, catalog: Catalog, region: str, instance_type: str, use_spot: bool
) -> QuotaInfo:
    """The vCPU quota of ``instance_type``'s quota class and market in ``region``."""
    cls = quota_class(instance_type)
    if cls is None:
        reason = f"no vCPU quota class for '{instance_type}'"
        return QuotaInfo(region, instance_type, None, None, None, None, reason=reason)
    code = QUOTA_CODES[cls][1 if use_spot else 0]
    try:
        answer = await api.call(
            "service-quotas", region, "get_service_quota", ServiceCode="ec2", QuotaCode=code
        )
    except ProviderError as err:
        if err.native_code not in _NO_DATA:
            raise
        reason = f"Service Quotas has no data for {code}: {err.message}"
        return QuotaInfo(region, instance_type, code, None, None, None, reason=reason)
    limit = float(answer["Quota"]["Value"])
    live = await _live_in_class(api, region, cls, use_spot)
    # One DescribeInstanceTypes for the live types and the wanted one together.
    sizes = await catalog.vcpus(region, [i["InstanceType"] for i in live] + [instance_type])
    used = sum(sizes.get(i["InstanceType"], 0.0) for i in live)
    return QuotaInfo(region, instance_type, code, limit, used, sizes.get(instance_type))


async def _live_in_class(api: Api, region: str, cls: str, spot: bool) -> list[dict[str, Any]]:
    """Every live instance in the account in this quota class and market."""
    live = await api.reservations(
        region, Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    )
    # Filter the market client-side: the instance-lifecycle filter is not universally served.
    return [
        i
        for i in live
        if quota_class(i["InstanceType"]) == cls and (i.get("InstanceLifecycle") == "spot") == spot
    ]
