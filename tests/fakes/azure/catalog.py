"""What the fake ARM cloud offers: regions, VM sizes with their quota families, quota limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FakeSize:
    name: str
    vcpus: int
    memory_mb: int
    gpus: int
    family: str


SIZES: tuple[FakeSize, ...] = (
    FakeSize("Standard_B2s", 2, 4096, 0, "standardBSFamily"),
    FakeSize("Standard_D2s_v3", 2, 8192, 0, "standardDSv3Family"),
    FakeSize("Standard_D4s_v3", 4, 16384, 0, "standardDSv3Family"),
    # The shipped catalog's cheapest 2-vCPU size in eastus: what an unpinned CPU launch picks.
    FakeSize("Standard_D2s_v5", 2, 8192, 0, "standardDSv5Family"),
    FakeSize("Standard_NC6s_v3", 6, 114688, 1, "standardNCSv3Family"),
    FakeSize("Standard_NC24ads_A100_v4", 24, 225280, 1, "StandardNCADSA100v4Family"),
)
SIZES_BY_NAME = {s.name.lower(): s for s in SIZES}

LOCATIONS: tuple[str, ...] = ("eastus", "westus2", "westeurope")
ZONES: tuple[str, ...] = ("1", "2", "3")

# Quota limits per region (ARM usage names). NCSv3 has no quota at all, as on a fresh subscription.
DEFAULT_LIMITS: dict[str, int] = {
    "cores": 100,
    "lowPriorityCores": 50,
    "standardBSFamily": 20,
    "standardDSv3Family": 40,
    "standardDSv5Family": 40,
    "standardNCSv3Family": 0,
    "StandardNCADSA100v4Family": 24,
}

LOCALIZED = {
    "cores": "Total Regional vCPUs",
    "lowPriorityCores": "Total Regional Low-priority vCPUs",
}


def localized_name(usage: str) -> str:
    return LOCALIZED.get(usage, f"{usage} vCPUs")
