"""The scheduler's failover loop against in-memory providers with failure switches."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from styx.errors import ResourcesUnavailableError
from styx.optimizer import Offer
from styx.providers.base import ProvisionRequest
from styx.scheduler import BlockList, Scheduler, instance_family
from styx.state.store import StateStore
from tests.fakes.switchboard import Switchboard


def offer(
    cloud: str,
    region: str,
    zones: tuple[str, ...],
    itype: str = "m5.large",
    price: float = 0.1,
    vcpus: float = 2,
) -> Offer:
    return Offer(
        cloud=cloud,
        region=region,
        instance_type=itype,
        use_spot=False,
        vcpus=vcpus,
        memory_gib=8,
        accelerator_name=None,
        accelerator_count=0,
        hourly_price=price,
        zones=zones,
    )


OFFERS = [
    offer("aws", "us-east-1", ("us-east-1a", "us-east-1b", "us-east-1c"), price=0.1),
    offer("aws", "us-west-2", ("us-west-2a", "us-west-2b"), price=0.11),
    offer("gcp", "us-central1", ("us-central1-a",), itype="n2-standard-2", price=0.12),
]


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "state.db")


@pytest.fixture
def clouds() -> dict[str, Switchboard]:
    return {"aws": Switchboard("aws"), "gcp": Switchboard("gcp")}


def scheduler(store: StateStore, clouds: dict[str, Switchboard], **kw: object) -> Scheduler:
    delays: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)

    s = Scheduler(store, clouds.__getitem__, sleep=fake_sleep, **kw)  # type: ignore[arg-type]
    s.delays = delays  # type: ignore[attr-defined]
    return s


def launch(s: Scheduler, offers: list[Offer] = OFFERS, nodes: int = 1, name: str = "c1"):  # type: ignore[no-untyped-def]
    template = ProvisionRequest(cluster_name=name, instance_type="placeholder")
    return asyncio.run(s.provision(offers, name, template, nodes))


def tried(board: Switchboard) -> list[str | None]:
    return [zone for kind, _r, zone, _t in board.calls if kind == "provision"]


def test_capacity_walks_zones_then_regions_in_order(store, clouds) -> None:  # type: ignore[no-untyped-def]
    aws = clouds["aws"]
    aws.fail("capacity", region="us-east-1")
    aws.fail("capacity", zone="us-west-2a")
    out = launch(scheduler(store, clouds))
    assert (out.offer.region, out.zone) == ("us-west-2", "us-west-2b")
    assert tried(aws) == ["us-east-1a", "us-east-1b", "us-east-1c", "us-west-2a", "us-west-2b"]
    assert [h.error_class for h in out.history] == ["CapacityError"] * 4
    assert len(aws.alive("c1")) == 1


def test_capacity_blocks_persist_for_the_next_launch(store, clouds) -> None:  # type: ignore[no-untyped-def]
    aws = clouds["aws"]
    aws.fail("capacity", zone="us-east-1a", times=1)
    launch(scheduler(store, clouds), name="first")
    assert store.is_blocked(["zone:aws/us-east-1/us-east-1a/m5.large"])
    aws.calls.clear()
    out = launch(scheduler(store, clouds), name="second")  # a fresh scheduler, same store
    assert tried(aws) == ["us-east-1b"] and out.zone == "us-east-1b"
    aws.calls.clear()
    launch(scheduler(store, clouds, block_list=BlockList(store, ignore=True)), name="third")
    assert tried(aws) == ["us-east-1a"]  # --no-block-list


def test_quota_blocks_the_region_family_and_moves_on(store, clouds) -> None:  # type: ignore[no-untyped-def]
    aws = clouds["aws"]
    aws.fail("quota", region="us-east-1")
    out = launch(scheduler(store, clouds))
    assert tried(aws) == ["us-east-1a", "us-west-2a"]  # no other zone of a quota-blocked region
    assert out.offer.region == "us-west-2"
    assert store.is_blocked([f"quota:aws/us-east-1/{instance_family('m5.large')}"])


def test_quota_precheck_skips_region_without_a_launch_call(store, clouds) -> None:  # type: ignore[no-untyped-def]
    aws = clouds["aws"]
    aws.quotas = {"us-east-1": 0.0, "us-west-2": None}  # none left; unknown means try
    out = launch(scheduler(store, clouds), nodes=2)
    assert ("provision", "us-east-1", "us-east-1a", "m5.large") not in aws.calls
    assert out.offer.region == "us-west-2"
    assert out.history[0].native_code == "QuotaPrecheck"


def test_auth_failure_disables_the_cloud_for_this_launch(store, clouds) -> None:  # type: ignore[no-untyped-def]
    clouds["aws"].fail("auth")
    out = launch(scheduler(store, clouds))
    assert out.offer.cloud == "gcp"
    assert len(tried(clouds["aws"])) == 1  # not once per zone or region
    assert store.blocked() == []  # credentials are not a placement problem: nothing persisted


def test_throttling_retries_with_bounded_jittered_backoff(store, clouds) -> None:  # type: ignore[no-untyped-def]
    clouds["aws"].fail("throttle", times=3)
    s = scheduler(store, clouds, backoff_base_s=0.5, backoff_cap_s=2.0)
    out = launch(s)
    assert out.zone == "us-east-1a"
    assert tried(clouds["aws"]) == ["us-east-1a"] * 4
    delays = s.delays  # type: ignore[attr-defined]
    assert len(delays) == 3
    assert all(0 <= d <= cap for d, cap in zip(delays, (0.5, 1.0, 2.0), strict=True))


def test_endless_throttling_gives_up_on_the_zone(store, clouds) -> None:  # type: ignore[no-untyped-def]
    clouds["aws"].fail("throttle", zone="us-east-1a")
    s = scheduler(store, clouds, max_transient_retries=2)
    out = launch(s)
    assert out.zone == "us-east-1b"
    assert tried(clouds["aws"])[:3] == ["us-east-1a"] * 3


def test_invalid_request_blocks_the_offer(store, clouds) -> None:  # type: ignore[no-untyped-def]
    clouds["aws"].fail("invalid", region="us-east-1")
    out = launch(scheduler(store, clouds))
    assert out.offer.region == "us-west-2"
    assert store.is_blocked(["offer:aws/us-east-1/m5.large"])


def test_partial_gang_is_terminated_before_moving_on(store, clouds) -> None:  # type: ignore[no-untyped-def]
    aws = clouds["aws"]
    aws.fail("partial", zone="us-east-1a")
    out = launch(scheduler(store, clouds), nodes=4)
    assert out.zone == "us-east-1b"
    alive = aws.alive("c1")
    assert len(alive) == 4 and {i.zone for i in alive} == {"us-east-1b"}
    assert store.intents("c1") != []  # the winners' intents stay until saved as instances


def test_nothing_works_raises_with_the_history(store, clouds) -> None:  # type: ignore[no-untyped-def]
    clouds["aws"].fail("capacity")
    clouds["gcp"].fail("quota")
    with pytest.raises(ResourcesUnavailableError) as info:
        launch(scheduler(store, clouds), nodes=2)
    history = info.value.history
    assert [(h.provider, h.zone, h.error_class) for h in history] == [
        ("aws", "us-east-1a", "CapacityError"),
        ("aws", "us-east-1b", "CapacityError"),
        ("aws", "us-east-1c", "CapacityError"),
        ("aws", "us-west-2a", "CapacityError"),
        ("aws", "us-west-2b", "CapacityError"),
        ("gcp", "us-central1-a", "QuotaError"),
    ]
    assert "6 attempt(s) failed" in str(info.value)
    assert clouds["aws"].alive() == [] and clouds["gcp"].alive() == []


def test_instance_family() -> None:
    assert instance_family("p4d.24xlarge") == "p4d"
    assert instance_family("n2-standard-8") == "n2"
    assert instance_family("Standard_NC24ads_A100_v4") == "NC"
