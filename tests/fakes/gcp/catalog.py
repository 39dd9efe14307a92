"""What the fake cloud offers: regions, zones, machine types, GPUs, images, default quotas.

Shapes mirror GCE's published ones (vCPUs, memory, bundled GPUs); the set is small on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MachineShape:
    name: str
    vcpus: int
    memory_mb: int
    gpu: str | None = None
    gpu_count: int = 0


MACHINES: tuple[MachineShape, ...] = (
    MachineShape("e2-standard-2", 2, 8192),
    MachineShape("e2-standard-4", 4, 16384),
    MachineShape("e2-standard-8", 8, 32768),
    MachineShape("n1-standard-4", 4, 15360),
    MachineShape("n1-standard-8", 8, 30720),
    MachineShape("n1-standard-16", 16, 61440),
    MachineShape("n2-standard-2", 2, 8192),
    MachineShape("n2-standard-8", 8, 32768),
    MachineShape("g2-standard-4", 4, 16384, "nvidia-l4", 1),
    MachineShape("g2-standard-24", 24, 98304, "nvidia-l4", 2),
    MachineShape("a2-highgpu-1g", 12, 87040, "nvidia-tesla-a100", 1),
    MachineShape("a2-highgpu-8g", 96, 696320, "nvidia-tesla-a100", 8),
    MachineShape("a3-highgpu-8g", 208, 1916928, "nvidia-h100-80gb", 8),
)

# accelerator type -> (description, maximumCardsPerInstance)
ACCELERATORS: dict[str, tuple[str, int]] = {
    "nvidia-tesla-t4": ("NVIDIA T4", 4),
    "nvidia-tesla-v100": ("NVIDIA V100", 8),
    "nvidia-tesla-a100": ("NVIDIA A100 40GB", 16),
    "nvidia-l4": ("NVIDIA L4", 8),
    "nvidia-h100-80gb": ("NVIDIA H100 80GB", 8),
}

# region -> zone -> (machine type names, accelerator names); None = everything.
ZONES: dict[str, dict[str, tuple[tuple[str, ...] | None, tuple[str, ...] | None]]] = {
    "europe-west4": {
        "europe-west4-a": (None, None),
        "europe-west4-b": (
            ("e2-standard-2", "e2-standard-4", "n1-standard-4", "n1-standard-8", "g2-standard-4"),
            ("nvidia-tesla-t4", "nvidia-l4"),
        ),
    },
    "us-central1": {
        "us-central1-a": (None, None),
        "us-central1-b": (None, ("nvidia-tesla-t4", "nvidia-tesla-v100", "nvidia-l4")),
        "us-central1-c": (
            ("e2-standard-2", "e2-standard-4", "e2-standard-8", "n1-standard-8"),
            ("nvidia-tesla-t4",),
        ),
    },
}

# Images accepted as sourceImage (families and one concrete image).
IMAGES: frozenset[str] = frozenset(
    {
        "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts",
        "projects/ubuntu-os-cloud/global/images/ubuntu-2204-jammy-v20261101",
        "projects/deeplearning-platform-release/global/images/family/"
        "common-cu124-ubuntu-2204-py310",
        "projects/debian-cloud/global/images/family/debian-12",
    }
)

# Regional quota limits (usage is computed from live instances).
DEFAULT_QUOTAS: dict[str, float] = {
    "CPUS": 240.0,
    "PREEMPTIBLE_CPUS": 240.0,
    "NVIDIA_T4_GPUS": 8.0,
    "PREEMPTIBLE_NVIDIA_T4_GPUS": 8.0,
    "NVIDIA_V100_GPUS": 8.0,
    "NVIDIA_A100_GPUS": 8.0,
    "NVIDIA_L4_GPUS": 8.0,
    "PREEMPTIBLE_NVIDIA_L4_GPUS": 8.0,
    "NVIDIA_H100_GPUS": 0.0,
    "INSTANCES": 100.0,
}
GPUS_ALL_REGIONS_DEFAULT = 16.0

# Quota metric of each GPU type (PREEMPTIBLE_ prefix for spot).
GPU_METRIC: dict[str, str] = {
    "nvidia-tesla-t4": "NVIDIA_T4_GPUS",
    "nvidia-tesla-v100": "NVIDIA_V100_GPUS",
    "nvidia-tesla-a100": "NVIDIA_A100_GPUS",
    "nvidia-l4": "NVIDIA_L4_GPUS",
    "nvidia-h100-80gb": "NVIDIA_H100_GPUS",
}


def machines_in(zone: str) -> list[MachineShape]:
    names = _zone_entry(zone)[0]
    return [m for m in MACHINES if names is None or m.name in names]


def accelerators_in(zone: str) -> list[str]:
    names = _zone_entry(zone)[1]
    return [a for a in ACCELERATORS if names is None or a in names]


def region_of(zone: str) -> str:
    return zone.rsplit("-", 1)[0]


def all_zones() -> list[str]:
    return sorted(z for zones in ZONES.values() for z in zones)


def _zone_entry(zone: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    return ZONES[region_of(zone)][zone]
