"""Failures raised where AWS raises them (moto's backend, real HTTP), seen through the taxonomy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from styx.errors import (
    CapacityError,
    CredentialsError,
    InstanceNotFoundError,
    QuotaError,
    TransientError,
)
from styx.providers.aws.network import security_group_name
from styx.providers.instance import InstanceState
from tests.aws.conftest import live_instances
from tests.fakes.aws.faults import interrupt_spot, run_instances_fails


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def no_group(ec2: Any, cluster: str) -> bool:
    return not ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [security_group_name(cluster)]}]
    )["SecurityGroups"]


@pytest.mark.parametrize(
    ("code", "cls"),
    [("InsufficientInstanceCapacity", CapacityError), ("VcpuLimitExceeded", QuotaError),
     ("AuthFailure", CredentialsError), ("MaxSpotInstanceCountExceeded", QuotaError)],
)  # fmt: skip
def test_launch_errors_map_and_leak_nothing(
    provider: Any, make_request: Callable[..., Any], ec2: Any, code: str, cls: type
) -> None:
    request = make_request("fail", zone="us-east-1b", use_spot=code.startswith("Max"))
    with run_instances_fails(code) as fault, pytest.raises(cls) as info:
        run(provider.provision_many(request, 16))
    err = info.value
    assert type(err) is cls
    assert (err.native_code, err.provider, err.region, err.zone) == (
        code, "aws", "us-east-1", "us-east-1b")  # fmt: skip
    assert fault.raised == 1 and provider.stats.retries == 0  # never retried
    assert live_instances(ec2) == []
    if cls is CapacityError:
        # Kept for the scheduler's next zone in this region, until the launch settles.
        assert not no_group(ec2, "fail")
        run(provider.release_unused("fail"))
    assert no_group(ec2, "fail")  # the group made for the failed launch is gone too
    assert run(provider.get_instance(request.instance_id)) is None


def test_throttling_is_retried_with_backoff_then_succeeds(
    provider: Any, make_request: Callable[..., Any], ec2: Any
) -> None:
    with run_instances_fails("RequestLimitExceeded", times=3) as fault:
        made = run(provider.provision_many(make_request("throttled"), 4))
    assert fault.raised == 3 and fault.passed == 1
    assert provider.stats.retries == 3
    assert provider.stats.calls["ec2.RunInstances"] == 4
    assert len(made) == 4 and len(live_instances(ec2, "throttled")) == 4


def test_throttling_gives_up_after_the_configured_attempts(
    make_provider: Callable[..., Any], make_request: Callable[..., Any], ec2: Any
) -> None:
    provider = make_provider(retry_attempts=3)
    with run_instances_fails("RequestLimitExceeded") as fault, pytest.raises(TransientError) as e:
        run(provider.provision(make_request("throttled")))
    assert e.value.native_code == "RequestLimitExceeded"
    assert fault.raised == 3 and provider.stats.retries == 2
    assert live_instances(ec2) == []


def test_spot_interruption_shows_terminated_with_reason(
    provider: Any, make_request: Callable[..., Any]
) -> None:
    inst = run(provider.provision(make_request("spotty", use_spot=True)))
    interrupt_spot(inst.native_id)
    got = run(provider.get_instance(inst.id))
    assert got is not None and got.state is InstanceState.TERMINATED
    assert got.state_reason == "Server.SpotInstanceTermination"
    listed = [i for i in run(provider.list_instances()) if i.id == inst.id]
    assert listed and listed[0].state_reason == "Server.SpotInstanceTermination"
    with pytest.raises(InstanceNotFoundError):
        run(provider.start(inst.id))
    run(provider.terminate(inst.id))  # already gone: success


def test_invalid_keys_disable_the_provider(aws: Any, provider: Any) -> None:
    assert run(provider.is_available()) is True
    assert "123456789012" in run(provider.check())
    aws.require_auth(True)  # moto now validates keys like AWS: 'testing' is unknown
    try:
        assert run(provider.is_available()) is False
        line = run(provider.check())
        assert line.startswith("disabled:") and "InvalidClientTokenId" in line
        assert "aws configure" in line and "\n" not in line
        with pytest.raises(CredentialsError) as info:
            run(provider.list_instances())
        assert info.value.native_code in ("AuthFailure", "InvalidClientTokenId")
    finally:
        aws.require_auth(False)


def test_missing_credentials(
    make_provider: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    provider = make_provider()
    assert run(provider.is_available()) is False
    line = run(provider.check())
    assert "Unable to locate credentials" in line and "AWS_ACCESS_KEY_ID" in line
    with pytest.raises(CredentialsError) as info:
        run(provider.list_instances())
    assert info.value.native_code == "NoCredentialsError" and provider.stats.retries == 0


def test_unreachable_endpoint_is_transient_and_retried(
    make_provider: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    provider = make_provider(retry_attempts=2)
    with pytest.raises(TransientError) as info:
        run(provider.list_instances())
    assert info.value.native_code == "EndpointConnectionError"
    assert provider.stats.retries == 1
