from __future__ import annotations

from typing import Any

import boto3

from tests.contract.suite import ProviderContract


class TestAWSContract(ProviderContract):
    expected_provider = "aws"
    gang_size = 3

    def verify_exists(self, provider: Any, native_id: str | None, alive: bool) -> None:
        assert native_id and native_id.startswith("i-")
        ec2 = boto3.client("ec2", region_name="us-east-1")
        found = ec2.describe_instances(InstanceIds=[native_id])["Reservations"]
        state = found[0]["Instances"][0]["State"]["Name"]
        if alive:
            assert state in ("pending", "running")
        else:
            assert state in ("shutting-down", "terminated")
