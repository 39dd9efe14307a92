"""The scheduler's failover loop against in-memory providers with failure switches."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from styx.blocklist import BlockKey, BlockList, Placement
from styx.errors import ResourcesUnavailableError, Scope
from styx.optimizer import Offer
from styx.providers.base import ProvisionRequest
from styx.scheduler import Scheduler
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
    return Scheduler(store, clouds.__getitem__, **kw)  # type: ignore[arg-type]


def families(provider: str, instance_type: str) -> str:
    return Switchboard(provider).instance_family(instance_type)


def blocked(store: StateStore, provider: str, region: str, zone: str | None, itype: str) -> bool:
    """Whether a fresh launch (a new BlockList on the same store) would skip this placement."""
    return BlockList(store, family_of=families).is_blocked(provider, region, zone, itype)


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
    assert store.blocked_keys() == [
        BlockKey("aws", Scope.ZONE, "us-east-1", "us-east-1a", "m5.large")
    ]
    aws.calls.clear()
    out = launch(scheduler(store, clouds), name="second")  # a fresh scheduler, same store
    assert tried(aws) == ["us-east-1b"] and out.zone == "us-east-1b"
    aws.calls.clear()
    no_list = BlockList(store, ignore=True, family_of=families)
    launch(scheduler(store, clouds, block_list=no_list), name="third")
    assert tried(aws) == ["us-east-1a"]  # --no-block-list


def test_quota_blocks_the_region_family_and_moves_on(store, clouds) -> None:  # type: ignore[no-untyped-def]
    aws = clouds["aws"]
    aws.fail("quota", region="us-east-1")
    out = launch(scheduler(store, clouds))
    assert tried(aws) == ["us-east-1a", "us-west-2a"]  # no other zone of a quota-blocked region
    assert out.offer.region == "us-west-2"
    assert store.blocked_keys() == [BlockKey("aws", Scope.REGION, "us-east-1", family="m5")]
    assert blocked(store, "aws", "us-east-1", "us-east-1c", "m5.xlarge")  # the whole family
    assert not blocked(store, "aws", "us-east-1", "us-east-1c", "c5.large")
    assert not blocked(store, "aws", "us-west-2", "us-west-2a", "m5.large")


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


def test_throttling_that_outlasts_the_provider_retries_moves_on_without_blocking(
    store, clouds
) -> None:  # type: ignore[no-untyped-def]
    # The provider retries a throttled call itself (styx.retry); one that still fails is not
    # retried again here (that would multiply the tries): the next zone is tried instead.
    clouds["aws"].fail("throttle", zone="us-east-1a")
    out = launch(scheduler(store, clouds))
    assert out.zone == "us-east-1b"
    assert tried(clouds["aws"]) == ["us-east-1a", "us-east-1b"]
    assert store.blocked_keys() == []


def test_exactly_known_capacity_is_never_blocked(store, clouds) -> None:  # type: ignore[no-untyped-def]
    aws = clouds["aws"]
    aws.fail("exact-capacity", times=1)
    with pytest.raises(ResourcesUnavailableError):
        launch(scheduler(store, clouds), offers=[offer("aws", "us-east-1", ())])
    assert store.blocked_keys() == []
    out = launch(scheduler(store, clouds), offers=[offer("aws", "us-east-1", ())], name="c2")
    assert out.offer.region == "us-east-1"  # tried again at once, and it worked


def test_a_launch_of_only_blocked_offers_says_so(store, clouds) -> None:  # type: ignore[no-untyped-def]
    clouds["aws"].fail("capacity", zone="us-east-1a", times=1)
    only = [offer("aws", "us-east-1", ("us-east-1a",))]
    with pytest.raises(ResourcesUnavailableError):
        launch(scheduler(store, clouds), offers=only)
    with pytest.raises(ResourcesUnavailableError) as info:
        launch(scheduler(store, clouds), offers=only, name="c2")
    assert "styx status --blocked" in str(info.value) and "--no-block-list" in str(info.value)


def test_invalid_request_blocks_the_offer(store, clouds) -> None:  # type: ignore[no-untyped-def]
    clouds["aws"].fail("invalid", region="us-east-1")
    out = launch(scheduler(store, clouds))
    assert out.offer.region == "us-west-2"
    assert store.blocked_keys() == [BlockKey("aws", Scope.OFFER, "us-east-1", None, "m5.large")]


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


def test_block_keys_match_by_field_with_wildcards() -> None:
    def fam(_p: str, t: str) -> str:
        return t.split(".")[0]

    where = Placement("aws", "us-east-1", "us-east-1a", "p4d.24xlarge")
    assert BlockKey("aws", Scope.FAMILY, family="p4d").covers(where, fam)
    assert BlockKey("aws", Scope.REGION, "us-east-1", family="p4d").covers(where, fam)
    assert not BlockKey("aws", Scope.REGION, "us-west-2", family="p4d").covers(where, fam)
    assert not BlockKey("aws", Scope.ZONE, "us-east-1", "us-east-1b", "p4d.24xlarge").covers(
        where, fam
    )
    assert not BlockKey("gcp", Scope.CLOUD).covers(where, fam)
    assert BlockKey("aws", Scope.CLOUD).covers(where, fam)
