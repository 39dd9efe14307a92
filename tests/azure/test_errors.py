"""Every row of the Azure error table that the fake can raise, immediate and from failed LROs.

Each test checks the Styx class, ARM's native code, the region, and that nothing was leaked.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from styx.errors import (
    CapacityError,
    CredentialsError,
    InvalidRequestError,
    ProviderError,
    QuotaError,
    TransientError,
)
from styx.providers.base import ProvisionRequest
from tests.azure.test_provision import leftovers
from tests.fakes.azure.state import FakeArm


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def request(region: str = "westeurope", **kw: Any) -> ProvisionRequest:
    kw.setdefault("instance_type", "Standard_D2s_v3")
    return ProvisionRequest(cluster_name="err", region=region, **kw)


@pytest.mark.parametrize(
    ("code", "during_lro", "expected"),
    [
        ("AllocationFailed", True, CapacityError),
        ("AllocationFailed", False, CapacityError),
        ("ZonalAllocationFailed", True, CapacityError),
        ("OverconstrainedAllocationRequest", True, CapacityError),
        ("SkuNotAvailable", False, CapacityError),
        ("QuotaExceeded", False, QuotaError),
        ("ImageNotFound", False, InvalidRequestError),
        ("InvalidParameter", True, InvalidRequestError),
    ],
)
def test_injected_create_errors(
    azure: Any, arm: FakeArm, code: str, during_lro: bool, expected: type[ProviderError]
) -> None:
    arm.inject_create_error(
        "westeurope", code, status=400 if code.startswith("I") else 409, during_lro=during_lro
    )
    with pytest.raises(expected) as info:
        run(azure.provision(request(zone="2")))
    err = info.value
    assert type(err) is expected
    assert (err.native_code, err.provider, err.region, err.zone) == (
        code,
        "azure",
        "westeurope",
        "2",
    )
    assert leftovers(arm) == {}, "a failed create must not leak resources"


def test_capacity_in_one_region_does_not_block_another(azure: Any, arm: FakeArm) -> None:
    arm.inject_create_error("westeurope", "ZonalAllocationFailed", during_lro=True)
    with pytest.raises(CapacityError):
        run(azure.provision(request()))
    inst = run(azure.provision(request(region="eastus")))
    assert inst.region == "eastus"


def test_family_quota_operation_not_allowed(azure: Any, arm: FakeArm) -> None:
    # The fake enforces quota like Azure: NCSv3 has a limit of 0 vCPUs on a fresh subscription.
    with pytest.raises(QuotaError) as info:
        run(azure.provision(request(instance_type="Standard_NC6s_v3")))
    assert info.value.native_code == "OperationNotAllowed"
    assert info.value.region == "westeurope"
    assert "quota" in info.value.message
    assert leftovers(arm) == {}


def test_spot_quota_low_priority_cores(azure: Any, arm: FakeArm) -> None:
    arm.limits["westeurope"]["lowPriorityCores"] = 1
    with pytest.raises(QuotaError) as info:
        run(azure.provision(request(use_spot=True)))
    assert info.value.native_code == "OperationNotAllowed" and "Low Priority" in info.value.message


def test_operation_not_allowed_without_quota_words_is_invalid_request(
    azure: Any, arm: FakeArm
) -> None:
    arm.inject_create_error("westeurope", "OperationNotAllowed", "The VM size is not allowed here.")
    with pytest.raises(InvalidRequestError) as info:
        run(azure.provision(request()))
    assert info.value.native_code == "OperationNotAllowed"


def test_unknown_size_is_invalid_parameter(azure: Any, arm: FakeArm) -> None:
    with pytest.raises(InvalidRequestError) as info:
        run(azure.provision(request(instance_type="Standard_Nope")))
    assert info.value.native_code == "InvalidParameter"
    assert leftovers(arm) == {}


def test_authorization_failed_403(azure: Any, arm: FakeArm) -> None:
    arm.faults.deny = True
    with pytest.raises(CredentialsError) as info:
        run(azure.provision(request()))
    assert info.value.native_code == "AuthorizationFailed"
    assert info.value.region == "westeurope"
    assert "az login" in str(info.value)


def test_throttled_then_succeeds(azure: Any, arm: FakeArm) -> None:
    arm.throttle(2, match="PUT")
    inst = run(azure.provision(request()))
    assert inst.state.is_alive
    throttled = [r for r in arm.requests if r.method == "PUT"]
    assert len(throttled) >= 2 + 5  # two refused PUTs, then group, vnet, nsg, ip, nic, vm


def test_server_error_then_succeeds(azure: Any, arm: FakeArm) -> None:
    arm.throttle(1, status=503, code="ServiceUnavailable", match="GET /subscriptions")
    assert run(azure.list_instances()) == []


def test_throttled_forever_is_transient(azure: Any, arm: FakeArm) -> None:
    arm.throttle(100, match="Microsoft.Compute/virtualMachines/")
    with pytest.raises(TransientError) as info:
        run(azure.provision(request()))
    assert info.value.native_code == "SubscriptionRequestsThrottled"
    assert info.value.region == "westeurope"
    arm.reset_faults()
    assert leftovers(arm) == {}
