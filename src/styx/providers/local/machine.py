"""What this machine has: CPUs, memory and NVIDIA GPUs (read from nvidia-smi when present)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str  # normalised, as users write it in task files: "H100", "A100", "L4"
    memory_gib: float


@dataclass(frozen=True)
class MachineInfo:
    cpus: int
    memory_gib: float
    gpus: tuple[Gpu, ...]


def normalise_gpu_name(raw: str) -> str:
    """'NVIDIA H200' -> 'H200'; 'NVIDIA A100-SXM4-80GB' -> 'A100'; 'Tesla T4' -> 'T4';
    'NVIDIA GeForce RTX 4090' -> 'RTX4090'."""
    name = re.sub(r"^(NVIDIA|Tesla|Quadro)\s+", "", raw.strip(), flags=re.I)
    name = re.sub(r"^GeForce\s+", "", name, flags=re.I)
    match = re.match(r"^(RTX|GTX)\s*(\w+)", name, flags=re.I)
    if match:
        return f"{match.group(1).upper()}{match.group(2)}"
    return re.split(r"[\s-]", name, maxsplit=1)[0]


def detect_gpus() -> tuple[Gpu, ...]:
    """GPUs as reported by ``nvidia-smi``; none when it is absent or fails."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return ()
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    gpus = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3:
            continue
        try:
            gpus.append(Gpu(int(parts[0]), normalise_gpu_name(parts[1]), float(parts[2]) / 1024))
        except ValueError:
            continue
    return tuple(gpus)


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) / 1024**3


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def detect_machine() -> MachineInfo:
    return MachineInfo(cpus=_cpu_count(), memory_gib=round(_memory_gib(), 1), gpus=detect_gpus())
