from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import boto3
import pytest
from moto.core.responses import BaseResponse

from tests.contract.suite import CloudFaults, FailoverContract, ProviderContract
from tests.fakes.aws.faults import capacity_missing_in, run_instances_fails, vcpu_quota_by_region


class MotoFaults(CloudFaults):
    """EC2 on the in-process moto server; RunInstances calls counted server-side."""

    regions = ("us-east-1", "us-west-2")
    instance_type = "m5.large"

    def __init__(self) -> None:
        self.run_instances = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        original = BaseResponse.call_action
        faults = self

        def counted(response: Any) -> Any:
            if response._get_action() == "RunInstances":
                faults.run_instances += 1
            return original(response)

        BaseResponse.call_action = counted  # type: ignore[method-assign]
        try:
            yield
        finally:
            BaseResponse.call_action = original  # type: ignore[method-assign]

    def zero_quota(self, region: str) -> AbstractContextManager[None]:
        return vcpu_quota_by_region({region: 0})

    @contextmanager
    def no_capacity(self) -> Iterator[None]:
        with capacity_missing_in(regions=set(self.regions)):
            yield

    @contextmanager
    def throttled(self, times: int) -> Iterator[None]:
        with run_instances_fails("RequestLimitExceeded", times=times):
            yield

    def launch_calls(self) -> int:
        return self.run_instances


class TestAWSContract(ProviderContract, FailoverContract):
    expected_provider = "aws"
    gang_size = 3

    @pytest.fixture
    def faults(self, aws: Any) -> Iterator[MotoFaults]:
        faults = MotoFaults()
        with faults.counting():
            yield faults

    def verify_exists(self, provider: Any, native_id: str | None, alive: bool) -> None:
        assert native_id and native_id.startswith("i-")
        ec2 = boto3.client("ec2", region_name="us-east-1")
        found = ec2.describe_instances(InstanceIds=[native_id])["Reservations"]
        state = found[0]["Instances"][0]["State"]["Name"]
        if alive:
            assert state in ("pending", "running")
        else:
            assert state in ("shutting-down", "terminated")
