"""Every mapped GCE error, raised by the fake where GCE raises it, arrives as the right class."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from styx.errors import (
    CapacityError,
    CredentialsError,
    InvalidRequestError,
    ProviderError,
    QuotaError,
    Scope,
    TransientError,
)
from styx.providers.base import ProvisionRequest
from styx.providers.gcp import errors as gerr
from styx.providers.gcp.provider import GCPProvider
from tests.fakes.gcp.backend import FakeGCE

run = asyncio.run
Make = Callable[..., ProvisionRequest]
INSERT = "/zones/us-central1-a/instances"


def insert_posts(fake: FakeGCE) -> int:
    return len(fake.received("POST", INSERT))


@pytest.mark.parametrize(
    "code", ["ZONE_RESOURCE_POOL_EXHAUSTED", "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS"]
)
def test_stockout_operation_error_is_capacity_in_zone(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make, code: str
) -> None:
    fake.exhaust_zone("us-central1-a", code)
    request = make_request("cap")
    with pytest.raises(CapacityError) as info:
        run(gcp.provision(request))
    err = info.value
    assert (err.provider, err.region, err.zone, err.native_code) == (
        "gcp",
        "us-central1",
        "us-central1-a",
        code,
    )
    assert "does not have enough resources" in err.message
    assert fake.instances == {}  # nothing left behind
    # failover of the same request (same Styx id) to the next zone works
    from dataclasses import replace

    ok = run(gcp.provision(replace(request, zone="us-central1-b")))
    assert ok.zone == "us-central1-b" and ok.id == request.instance_id


def test_quota_operation_error_is_regional(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    fake.fail_operations(
        "us-central1-a",
        "QUOTA_EXCEEDED",
        "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.",
    )
    with pytest.raises(QuotaError) as info:
        run(gcp.provision(make_request("q")))
    err = info.value
    assert (err.region, err.zone, err.native_code) == ("us-central1", None, "QUOTA_EXCEEDED:CPUS")
    assert err.scope is Scope.REGION


def test_regional_gpu_quota_http_403_is_quota_not_credentials(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    fake.set_quota("us-central1", "NVIDIA_T4_GPUS", 0)
    with pytest.raises(QuotaError) as info:
        run(gcp.provision(make_request("q", instance_type="n1-standard-4+nvidia-tesla-t4:1")))
    err = info.value
    assert (err.region, err.zone) == ("us-central1", None)
    assert err.native_code == "QUOTA_EXCEEDED:NVIDIA_T4_GPUS"
    assert insert_posts(fake) == 1  # not retried


def test_gpus_all_regions_quota_blocks_the_family_everywhere(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    fake.gpus_all_regions = 0
    with pytest.raises(QuotaError) as info:
        run(gcp.provision(make_request("q", instance_type="g2-standard-4")))
    err = info.value
    assert err.scope is Scope.FAMILY and err.zone is None
    assert err.native_code == "QUOTA_EXCEEDED:GPUS_ALL_REGIONS"


@pytest.mark.parametrize("status,reason", [(403, "forbidden"), (401, "unauthorized")])
def test_auth_failures_are_credentials_and_not_retried(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make, status: int, reason: str
) -> None:
    fake.inject_http_error(
        status,
        reason,
        "Required 'compute.instances.create' permission for 'projects/styx-proj'",
        method="POST",
        path_contains=INSERT,
        times=5,
    )
    with pytest.raises(CredentialsError) as info:
        run(gcp.provision(make_request("auth")))
    assert info.value.native_code in {reason, "autherror"}
    assert "gcloud auth application-default login" in str(info.value)
    # Styx does not retry. On 401 google-auth's session refreshes the token and resends, at
    # most twice (google.auth.transport.requests.AuthorizedSession._max_refresh_attempts).
    assert insert_posts(fake) == (1 if status == 403 else 3)


@pytest.mark.parametrize(
    "status,reason", [(429, "rateLimitExceeded"), (403, "rateLimitExceeded"), (503, "backendError")]
)
def test_throttling_is_retried_then_succeeds(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make, status: int, reason: str
) -> None:
    fake.inject_http_error(status, reason, method="POST", path_contains=INSERT, times=2)
    inst = run(gcp.provision(make_request("retry")))
    assert inst.native_id in {n for _, n in fake.instances}
    assert insert_posts(fake) == 3  # two throttled tries, then the accepted one
    queries = {r.query["requestId"] for r in fake.received("POST", INSERT)}
    assert len(queries) == 1  # every retry carried the same requestId


def test_persistent_throttling_gives_up_with_transient_error(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    fake.inject_http_error(429, "rateLimitExceeded", method="POST", path_contains=INSERT, times=99)
    with pytest.raises(TransientError) as info:
        run(gcp.provision(make_request("retry")))
    assert info.value.native_code == "rateLimitExceeded" and info.value.zone == "us-central1-a"
    assert insert_posts(fake) == gcp.settings.max_attempts


def test_throttled_read_is_retried(gcp: GCPProvider, fake: FakeGCE) -> None:
    fake.inject_http_error(500, "backendError", method="GET", path_contains="/regions", times=1)
    assert run(gcp.list_regions()) == ["europe-west4", "us-central1"]


def test_unknown_machine_type_is_invalid_request(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        run(gcp.provision(make_request("bad", instance_type="n9-huge-1")))
    assert info.value.native_code == "invalid" and info.value.zone == "us-central1-a"
    assert "n9-huge-1" in info.value.message


def test_unknown_image_404_on_insert_is_invalid_request(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    image = "projects/nope/global/images/family/missing"
    with pytest.raises(InvalidRequestError) as info:
        run(gcp.provision(make_request("bad", image_id=image)))
    assert info.value.native_code == "notFound" and image in info.value.message


def test_accelerator_not_offered_in_zone_is_invalid_request(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    with pytest.raises(InvalidRequestError):
        run(
            gcp.provision(
                make_request(
                    "bad", zone="us-central1-c", instance_type="n1-standard-8+nvidia-tesla-v100:1"
                )
            )
        )


def test_table_covers_codes_and_falls_back_by_status() -> None:
    def cls(code: str | None, status: int | None, msg: str = "m") -> type:
        return type(gerr.classify(gerr.GCEError(code, msg, status), region="r", zone="r-a"))

    assert cls("STOCKOUT", None) is CapacityError
    assert cls("insufficientCapacity", 503) is CapacityError
    assert cls("RESOURCE_OPERATION_RATE_EXCEEDED", None) is TransientError
    assert cls(None, 504) is TransientError
    assert cls("notFound", 404) is not InvalidRequestError  # outside insert: the VM is gone
    assert cls("SOMETHING_NEW", None) is ProviderError
    err = gerr.classify(gerr.GCEError("notFound", "x", 404), region="r", zone="z", creating=True)
    assert isinstance(err, InvalidRequestError)
