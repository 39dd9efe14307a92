"""Quota pre-check from regions.get quotas (CPUS, PREEMPTIBLE_CPUS, NVIDIA_*_GPUS)."""

from __future__ import annotations

from styx.providers.abilities import QuotaInfo
from styx.providers.gcp.clients import GCEApi
from styx.providers.gcp.machines import GPU_QUOTA_METRIC, MachineSpec


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


def binding(
    region: str,
    instance_type: str,
    quotas: dict[str, tuple[float, float]],
    needs: list[tuple[str, float]],
) -> QuotaInfo:
    """The first need that does not fit, else the tightest one; unknown if none is reported."""
    infos = []
    for metric, amount in needs:
        if metric not in quotas:
            reason = f"region {region} reports no {metric} quota"
            infos.append(QuotaInfo(region, instance_type, metric, None, None, amount, reason))
            continue
        limit, usage = quotas[metric]
        infos.append(QuotaInfo(region, instance_type, metric, limit, usage, amount))
    for info in infos:
        if info.fits() is False:
            return info
    known = [i for i in infos if i.known]
    if not known:
        return infos[0]
    return min(known, key=lambda i: (i.free or 0.0) - (i.per_instance or 0.0))
