"""Quota pre-check from regions.get quotas (CPUS, PREEMPTIBLE_CPUS, NVIDIA_*_GPUS)."""

from __future__ import annotations

from dataclasses import dataclass

from styx.providers.gcp.clients import GCEApi
from styx.providers.gcp.machines import GPU_QUOTA_METRIC, MachineSpec


@dataclass(frozen=True)
class QuotaInfo:
    """The binding quota for one instance in one region. ``unknown`` when GCE did not say."""

    metric: str
    limit: float | None = None
    usage: float | None = None
    needed: float = 0.0
    unknown: bool = False

    @property
    def available(self) -> float | None:
        return None if self.limit is None or self.usage is None else self.limit - self.usage

    @property
    def fits(self) -> bool | None:
        """True/False when known; None when the quota is unknown."""
        free = self.available
        return None if self.unknown or free is None else free >= self.needed


def needed_metrics(
    spec: MachineSpec, vcpus: int, gpu: str | None, gpus: int, spot: bool
) -> list[tuple[str, float]]:
    """(metric, amount) pairs this instance consumes; GPUs first, they bind most often."""
    prefix = "PREEMPTIBLE_" if spot else ""
    out: list[tuple[str, float]] = []
    if gpu and gpus:
        out.append((prefix + GPU_QUOTA_METRIC.get(gpu, f"{gpu.upper()}_GPUS"), float(gpus)))
    out.append(("PREEMPTIBLE_CPUS" if spot else "CPUS", float(vcpus)))
    return out


async def region_quotas(api: GCEApi, region: str) -> dict[str, tuple[float, float]]:
    reg = await api.must(
        lambda: api.regions.get(
            project=api.project, region=region, retry=None, timeout=api.http_timeout
        ),
        region=region,
    )
    return {q.metric: (q.limit, q.usage) for q in reg.quotas}


def binding(quotas: dict[str, tuple[float, float]], needs: list[tuple[str, float]]) -> QuotaInfo:
    """The first need that does not fit, else the tightest one; unknown if none is reported."""
    infos = []
    for metric, amount in needs:
        if metric not in quotas:
            infos.append(QuotaInfo(metric, needed=amount, unknown=True))
            continue
        limit, usage = quotas[metric]
        infos.append(QuotaInfo(metric, limit, usage, amount))
    for info in infos:
        if info.fits is False:
            return info
    known = [i for i in infos if not i.unknown]
    if not known:
        return infos[0]
    return min(known, key=lambda i: (i.available or 0) - i.needed)
