"""Machine types, GPUs and the instance-type string convention.

Convention: ``<machine-type>`` for plain and GPU-bundled types (a2/a3/a4/g2/g4 carry their GPUs),
``<machine-type>+<accelerator-type>:<count>`` for attached GPUs (n1), e.g.
``n1-standard-8+nvidia-tesla-t4:1``. The count may be omitted and then comes from the request's
``num_gpus`` (default 1). The canonical form always carries the count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from styx.errors import InvalidRequestError
from styx.providers.instance import InstanceType

# Families whose machine types come with GPUs built in (machineTypes[].accelerators).
GPU_BUNDLED_FAMILIES = ("a2-", "a3-", "a4-", "g2-", "g4-")
# GPUs that can be attached to n1 machine types through guestAccelerators.
ATTACHABLE_GPUS = ("nvidia-tesla-t4", "nvidia-tesla-v100", "nvidia-tesla-p100", "nvidia-tesla-p4")

# acceleratorTypes carry no memory size; these are the cards' published sizes (GiB).
GPU_MEMORY_GIB: dict[str, float] = {
    "nvidia-tesla-t4": 16,
    "nvidia-tesla-v100": 16,
    "nvidia-tesla-p100": 16,
    "nvidia-tesla-p4": 8,
    "nvidia-tesla-k80": 12,
    "nvidia-tesla-a100": 40,
    "nvidia-a100-80gb": 80,
    "nvidia-h100-80gb": 80,
    "nvidia-h100-mega-80gb": 80,
    "nvidia-h200-141gb": 141,
    "nvidia-l4": 24,
    "nvidia-b200": 180,
}

# Per-region quota metric of each GPU (spot uses PREEMPTIBLE_<metric>).
GPU_QUOTA_METRIC: dict[str, str] = {
    "nvidia-tesla-t4": "NVIDIA_T4_GPUS",
    "nvidia-tesla-v100": "NVIDIA_V100_GPUS",
    "nvidia-tesla-p100": "NVIDIA_P100_GPUS",
    "nvidia-tesla-p4": "NVIDIA_P4_GPUS",
    "nvidia-tesla-k80": "NVIDIA_K80_GPUS",
    "nvidia-tesla-a100": "NVIDIA_A100_GPUS",
    "nvidia-a100-80gb": "NVIDIA_A100_80GB_GPUS",
    "nvidia-h100-80gb": "NVIDIA_H100_GPUS",
    "nvidia-h100-mega-80gb": "NVIDIA_H100_MEGA_GPUS",
    "nvidia-l4": "NVIDIA_L4_GPUS",
    "nvidia-h200-141gb": "NVIDIA_H200_GPUS",
    "nvidia-b200": "NVIDIA_B200_GPUS",
}

# GCE caps vCPUs per attached GPU on n1 (roughly 24 for T4/P4/P100, 12 for V100); used only to
# avoid listing combinations the API would refuse.
_MAX_VCPUS_PER_GPU = {"nvidia-tesla-v100": 12}


@dataclass(frozen=True)
class MachineSpec:
    machine_type: str
    accelerator: str | None = None  # attached (guestAccelerators) GPU, n1 only
    accelerator_count: int = 0

    @property
    def bundled_gpus(self) -> bool:
        return self.machine_type.startswith(GPU_BUNDLED_FAMILIES)

    @property
    def has_gpus(self) -> bool:
        return self.accelerator_count > 0 or self.bundled_gpus

    @property
    def canonical(self) -> str:
        if self.accelerator:
            return f"{self.machine_type}+{self.accelerator}:{self.accelerator_count}"
        return self.machine_type


def gce_accelerator_type(name: str) -> str:
    """A user's GPU name ('T4', 'V100') as GCE's accelerator type ('nvidia-tesla-t4')."""
    lowered = name.lower()
    if lowered.startswith("nvidia-"):
        return lowered
    tesla = ("t4", "v100", "p100", "p4", "k80", "a100")
    return f"nvidia-tesla-{lowered}" if lowered in tesla else f"nvidia-{lowered}"


def parse_instance_type(
    value: str, num_gpus: int = 0, accelerator_name: str | None = None
) -> MachineSpec:
    """``machine[+accelerator:count]``; a plain N1 machine with ``num_gpus`` and an
    ``accelerator_name`` (what the optimizer's offers carry) gets that GPU attached."""
    machine, sep, acc = value.strip().partition("+")
    if not machine:
        raise _bad(value, "empty machine type")
    if not sep:
        if num_gpus and accelerator_name and not machine.startswith(GPU_BUNDLED_FAMILIES):
            return MachineSpec(machine, gce_accelerator_type(accelerator_name), num_gpus)
        if num_gpus and not machine.startswith(GPU_BUNDLED_FAMILIES):
            raise _bad(
                value,
                f"{num_gpus} GPU(s) requested but {machine} has none; attach them with "
                f"'{machine}+nvidia-tesla-t4:{num_gpus}' or pick an a2/a3/g2 type",
            )
        return MachineSpec(machine)
    name, _, count_text = acc.partition(":")
    try:
        count = int(count_text) if count_text else (num_gpus or 1)
    except ValueError:
        raise _bad(value, f"GPU count '{count_text}' is not a number") from None
    if not name or count < 1:
        raise _bad(value, "expected '<machine-type>+<accelerator-type>:<count>'")
    return MachineSpec(machine, name, count)


def _bad(value: str, why: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"invalid instance type '{value}': {why}", provider="gcp", native_code="invalid"
    )


def spec_from_instance(machine_type_url: str, accelerators: Iterable[tuple[str, int]]) -> str:
    """The canonical instance-type string of an existing instance."""
    machine = machine_type_url.rstrip("/").rsplit("/", 1)[-1]
    accs = [(a.rsplit("/", 1)[-1], n) for a, n in accelerators if n]
    if accs:
        name, count = accs[0]
        return MachineSpec(machine, name, count).canonical
    return machine


@dataclass(frozen=True)
class ZoneMachine:
    """One machineTypes entry as the catalog needs it."""

    zone: str
    name: str
    vcpus: int
    memory_mb: int
    accelerator: str | None = None
    accelerator_count: int = 0


@dataclass(frozen=True)
class ZoneAccelerator:
    zone: str
    name: str
    max_cards: int


def build_instance_types(
    region: str, machines: list[ZoneMachine], accelerators: list[ZoneAccelerator]
) -> list[InstanceType]:
    """InstanceType per machine type (zones merged), plus n1 + attachable GPU combinations."""
    zones: dict[str, set[str]] = {}
    shape: dict[str, ZoneMachine] = {}
    for m in machines:
        zones.setdefault(m.name, set()).add(m.zone)
        shape.setdefault(m.name, m)
    out = [
        InstanceType(
            name=name,
            vcpus=float(m.vcpus),
            memory_gib=round(m.memory_mb / 1024, 2),
            accelerator_name=m.accelerator,
            accelerator_count=m.accelerator_count,
            accelerator_memory_gib=GPU_MEMORY_GIB.get(m.accelerator or ""),
            region=region,
            zones=tuple(sorted(zones[name])),
        )
        for name, m in sorted(shape.items())
    ]
    for acc in _merge_accelerators(accelerators):
        if acc.name not in ATTACHABLE_GPUS:
            continue
        for name, m in sorted(shape.items()):
            if not name.startswith("n1-"):
                continue
            both = zones[name] & set(acc.zones)
            for count in (1, 2, 4, 8):
                per_gpu = _MAX_VCPUS_PER_GPU.get(acc.name, 24)
                if count > acc.max_cards or not both or m.vcpus > per_gpu * count:
                    continue
                out.append(
                    InstanceType(
                        name=MachineSpec(name, acc.name, count).canonical,
                        vcpus=float(m.vcpus),
                        memory_gib=round(m.memory_mb / 1024, 2),
                        accelerator_name=acc.name,
                        accelerator_count=count,
                        accelerator_memory_gib=GPU_MEMORY_GIB.get(acc.name),
                        region=region,
                        zones=tuple(sorted(both)),
                    )
                )
    return out


@dataclass(frozen=True)
class _MergedAccelerator:
    name: str
    max_cards: int
    zones: tuple[str, ...]


def _merge_accelerators(accs: list[ZoneAccelerator]) -> list[_MergedAccelerator]:
    by_name: dict[str, list[ZoneAccelerator]] = {}
    for a in accs:
        by_name.setdefault(a.name, []).append(a)
    return [
        _MergedAccelerator(n, max(a.max_cards for a in lst), tuple(sorted({a.zone for a in lst})))
        for n, lst in sorted(by_name.items())
    ]
