"""The scheduler driving the real AWS provider against moto, with faults raised by the cloud."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from styx.blocklist import BlockKey
from styx.errors import Scope
from styx.optimizer import Offer
from styx.placement import provider_factory
from styx.providers.base import ProvisionRequest
from styx.scheduler import Scheduler
from styx.state.store import StateStore
from tests.aws.conftest import IMAGE, live_instances
from tests.fakes.aws.faults import capacity_missing_in, run_instances_fails, vcpu_quota_by_region
from tests.fakes.aws.moto_server import MotoServer


def aws_offer(region: str, zones: tuple[str, ...], price: float) -> Offer:
    return Offer("aws", region, "m5.large", False, 2, 8, None, 0, price, zones=zones)


LOCAL = Offer("local", "local", "local-1cpu", False, 1, 1, None, 0, 0.5)
EAST = aws_offer("us-east-1", ("us-east-1a", "us-east-1b", "us-east-1c"), 0.096)
WEST = aws_offer("us-west-2", ("us-west-2a", "us-west-2b"), 0.097)


def provision(tmp_path: Path, offers: list[Offer], nodes: int = 2) -> Any:
    store = StateStore(tmp_path / "state.db")
    lines: list[str] = []
    scheduler = Scheduler(store, provider_factory(), progress=lines.append)
    template = ProvisionRequest(cluster_name="fo", instance_type="x", image_id=IMAGE)
    outcome = asyncio.run(scheduler.provision(offers, "fo", template, nodes))
    return outcome, store, lines


def test_capacity_in_two_zones_then_third(aws: MotoServer, ec2: Any, tmp_path: Path) -> None:
    with capacity_missing_in(zones={"us-east-1a", "us-east-1b"}) as fault:
        outcome, store, lines = provision(tmp_path, [EAST, WEST])
    assert outcome.zone == "us-east-1c" and fault.raised == 2
    alive = live_instances(ec2, "fo")
    assert len(alive) == 2 and {i["Placement"]["AvailabilityZone"] for i in alive} == {"us-east-1c"}
    assert [h.native_code for h in outcome.history] == ["InsufficientInstanceCapacity"] * 2
    assert (
        BlockKey("aws", Scope.ZONE, "us-east-1", "us-east-1a", "m5.large") in store.blocked_keys()
    )
    assert any("trying aws/us-east-1/us-east-1c" in line for line in lines)


def test_zero_quota_region_is_skipped_without_launching(
    aws: MotoServer, ec2: Any, tmp_path: Path
) -> None:
    with vcpu_quota_by_region({"us-east-1": 0}), run_instances_fails("VcpuLimitExceeded") as f:
        f.raised = 0
        # RunInstances would fail everywhere; the pre-check must keep us from calling it in east.
        try:
            provision(tmp_path, [EAST, WEST])
        except Exception as exc:  # noqa: BLE001 - we inspect the history below
            history = exc.history  # type: ignore[attr-defined]
    assert history[0].native_code == "QuotaPrecheck" and history[0].region == "us-east-1"
    assert [h.region for h in history[1:]] == ["us-west-2"]  # only west reached RunInstances
    assert f.raised == 1


def test_throttled_three_times_then_launched(aws: MotoServer, ec2: Any, tmp_path: Path) -> None:
    with run_instances_fails("RequestLimitExceeded", times=3) as fault:
        outcome, _store, _lines = provision(tmp_path, [EAST])
    assert fault.raised == 3 and fault.passed == 1
    assert outcome.zone == "us-east-1a" and len(live_instances(ec2, "fo")) == 2


def test_auth_failure_disables_aws_and_tries_next_cloud(
    aws: MotoServer, ec2: Any, tmp_path: Path
) -> None:
    with run_instances_fails("AuthFailure") as fault:
        outcome, _store, _lines = provision(tmp_path, [EAST, WEST, LOCAL], nodes=1)
    assert outcome.offer.cloud == "local"
    assert fault.raised == 1  # not retried in other zones or regions
    assert [h.error_class for h in outcome.history] == ["CredentialsError"]
    assert live_instances(ec2) == []
    from styx.providers.local.provider import LocalProvider

    asyncio.run(LocalProvider().terminate(outcome.instances[0].id))
