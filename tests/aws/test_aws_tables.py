"""The two translation tables: EC2 error codes and EC2 states."""

from __future__ import annotations

import pytest

from styx.errors import (
    CapacityError,
    CredentialsError,
    InstanceNotFoundError,
    InvalidRequestError,
    ProviderError,
    QuotaError,
    TransientError,
    UnsupportedError,
)
from styx.providers.aws.errors import error_class
from styx.providers.aws.states import member_id, tag_values_for, to_instance
from styx.providers.instance import InstanceState


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("InsufficientInstanceCapacity", 500, CapacityError),
        ("InsufficientHostCapacity", 400, CapacityError),
        ("InsufficientReservedInstanceCapacity", 400, CapacityError),
        ("InsufficientCapacityOnHost", 400, CapacityError),
        ("Unsupported", 400, CapacityError),
        ("VcpuLimitExceeded", 400, QuotaError),
        ("InstanceLimitExceeded", 400, QuotaError),
        ("MaxSpotInstanceCountExceeded", 400, QuotaError),
        ("AuthFailure", 401, CredentialsError),
        ("UnauthorizedOperation", 403, CredentialsError),
        ("InvalidClientTokenId", 403, CredentialsError),
        ("ExpiredToken", 400, CredentialsError),
        ("RequestLimitExceeded", 503, TransientError),
        ("Throttling", 400, TransientError),
        ("SomethingNew", 503, TransientError),
        ("InvalidInstanceType", 400, InvalidRequestError),
        ("InvalidAMIID.NotFound", 400, InvalidRequestError),
        ("InvalidAMIID.Malformed", 400, InvalidRequestError),
        ("InvalidParameterValue", 400, InvalidRequestError),
        ("InvalidParameterCombination", 400, InvalidRequestError),
        ("InvalidInstanceID.NotFound", 400, InstanceNotFoundError),
        ("UnsupportedOperation", 400, UnsupportedError),
        ("SomethingNew", 400, ProviderError),
    ],
)
def test_error_table(code: str, status: int, cls: type) -> None:
    assert error_class(code, status) is cls


def raw(state: str, index: int = 0, **extra: object) -> dict[str, object]:
    return {
        "InstanceId": "i-1", "InstanceType": "m5.large", "State": {"Name": state},
        "AmiLaunchIndex": index, "Placement": {"AvailabilityZone": "us-east-1a"},
        "Tags": [{"Key": "styx-id", "Value": "abc"}, {"Key": "styx-cluster", "Value": "c"},
                 {"Key": "styx-node-rank", "Value": "2"}],
        **extra,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("native", "state"),
    [("pending", InstanceState.PENDING), ("running", InstanceState.RUNNING),
     ("stopping", InstanceState.STOPPED), ("stopped", InstanceState.STOPPED),
     ("shutting-down", InstanceState.TERMINATED), ("terminated", InstanceState.TERMINATED),
     ("hibernating-someday", InstanceState.ERROR)],
)  # fmt: skip
def test_state_table(native: str, state: InstanceState) -> None:
    inst = to_instance(raw(native), "us-east-1", "ubuntu")
    assert inst is not None and inst.state is state and inst.native_state == native
    if state is InstanceState.ERROR:
        assert "hibernating-someday" in (inst.state_reason or "")


def test_gang_member_ids_and_ranks() -> None:
    inst = to_instance(raw("running", 3), "us-east-1", "ubuntu")
    assert inst is not None and inst.id == "abc-3" and inst.node_rank == 5
    assert member_id("abc", 0) == "abc"
    assert tag_values_for("abc-3") == ["abc-3", "abc"]
    assert to_instance({"InstanceId": "i-2", "Tags": []}, "us-east-1", "ubuntu") is None
