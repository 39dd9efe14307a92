"""quota(): regions.get quotas against what one instance needs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from styx.providers.base import ProvisionRequest
from styx.providers.gcp.provider import GCPProvider
from tests.fakes.gcp.backend import FakeGCE

run = asyncio.run


def test_cpu_quota_and_usage_tracks_instances(
    gcp: GCPProvider, fake: FakeGCE, make_request: Callable[..., ProvisionRequest]
) -> None:
    q = run(gcp.quota("us-central1", "e2-standard-8"))
    assert (q.metric, q.limit, q.used, q.per_instance, q.fits()) == ("CPUS", 240.0, 0.0, 8.0, True)
    run(gcp.provision(make_request("q", instance_type="e2-standard-8")))
    assert run(gcp.quota("us-central1", "e2-standard-8")).used == 8.0
    fake.set_quota("us-central1", "CPUS", 10)
    tight = run(gcp.quota("us-central1", "e2-standard-8"))
    assert tight.fits() is False and tight.free == 2.0


def test_gpu_and_spot_metrics(gcp: GCPProvider, fake: FakeGCE) -> None:
    fake.set_quota("us-central1", "PREEMPTIBLE_NVIDIA_T4_GPUS", 0)
    q = run(gcp.quota("us-central1", "n1-standard-8+nvidia-tesla-t4:2", use_spot=True))
    assert (q.metric, q.per_instance, q.fits()) == ("PREEMPTIBLE_NVIDIA_T4_GPUS", 2.0, False)
    a2 = run(gcp.quota("us-central1", "a2-highgpu-8g"))
    assert (a2.metric, a2.per_instance, a2.fits()) == ("NVIDIA_A100_GPUS", 8.0, True)
    h100 = run(gcp.quota("us-central1", "a3-highgpu-8g"))
    assert h100.metric == "NVIDIA_H100_GPUS" and h100.fits() is False


def test_unreported_metric_is_unknown(gcp: GCPProvider, fake: FakeGCE) -> None:
    fake.quotas["europe-west4"] = {"CPUS": 24.0}  # no PREEMPTIBLE_CPUS reported
    q = run(gcp.quota("europe-west4", "e2-standard-2", use_spot=True))
    assert (q.metric, q.known, q.fits()) == ("PREEMPTIBLE_CPUS", False, None)
    on_demand = run(gcp.quota("europe-west4", "e2-standard-2"))
    assert (on_demand.metric, on_demand.limit, on_demand.fits()) == ("CPUS", 24.0, True)
