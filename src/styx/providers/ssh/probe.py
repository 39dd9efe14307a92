"""A pool host's real shape (CPUs, memory, GPUs) probed over SSH, cached under $STYX_HOME."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PROBE = (
    "nproc; awk '/MemTotal/ {print $2}' /proc/meminfo; "
    "nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits 2>/dev/null || true"
)
VENDOR_WORDS = {"NVIDIA", "TESLA", "GEFORCE", "RTX"}


@dataclass
class HostShape:
    cpus: int
    memory_gib: float
    gpus: list[tuple[str, float]] = field(default_factory=list)  # (name, GiB) per GPU
    probed_at: float = 0.0

    @property
    def type_name(self) -> str:
        base = f"{self.cpus}cpu-{int(self.memory_gib)}gb"
        if self.gpus:
            return f"{len(self.gpus)}x{self.gpus[0][0]}-{base}"
        return base


def gpu_short_name(full: str) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'H100'; 'Tesla T4' -> 'T4'; 'A100-SXM4-40GB' -> 'A100'."""
    words = [w for w in re.split(r"[\s]+", full.strip()) if w.upper() not in VENDOR_WORDS]
    return (words[0] if words else full).split("-")[0]


def parse_probe(output: str) -> HostShape:
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    if len(lines) < 2 or not lines[0].isdigit() or not lines[1].isdigit():
        raise ValueError(f"unexpected probe output: {output[:200]!r}")
    gpus = []
    for line in lines[2:]:
        name, _, mem = line.rpartition(",")
        try:
            gpus.append((gpu_short_name(name), round(float(mem) / 1024, 1)))
        except ValueError:
            continue
    return HostShape(int(lines[0]), round(int(lines[1]) / 1024 / 1024, 1), gpus, time.time())


class ShapeCache:
    def __init__(self, folder: Path, ttl_s: float) -> None:
        self.path = folder / "hosts.json"
        self.ttl_s = ttl_s

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def get(self, host_id: str) -> HostShape | None:
        raw = self._read().get(host_id)
        if not raw:
            return None
        shape = HostShape(**raw)  # type: ignore[arg-type]
        shape.gpus = [tuple(g) for g in shape.gpus]  # type: ignore[misc]
        if time.time() - shape.probed_at > self.ttl_s:
            return None
        return shape

    def put(self, host_id: str, shape: HostShape) -> None:
        data = self._read()
        data[host_id] = asdict(shape)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)
