"""Make the in-process moto server fail the way EC2 does, for every client that calls it.

These patch moto's *backend* (the fake cloud), never the Styx provider: the provider's boto3
client gets a real HTTP error response with the native code. The server must run in this
process (``tests.fakes.aws.moto_server.start_moto``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import moto.ec2.models.instances as moto_instances
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.exceptions import EC2ClientError

MESSAGES = {
    "InsufficientInstanceCapacity": "We currently do not have sufficient {type} capacity in the "
    "Availability Zone you requested. Our system will be working on provisioning additional "
    "capacity.",
    "VcpuLimitExceeded": "You have requested more vCPU capacity than your current vCPU limit "
    "allows for the instance bucket that the specified instance type belongs to.",
    "AuthFailure": "AWS was not able to validate the provided access credentials",
    "RequestLimitExceeded": "Request limit exceeded.",
    "MaxSpotInstanceCountExceeded": "Max spot instance count exceeded",
}


@dataclass
class Fault:
    """How many times the fault fired, and how many calls got through afterwards."""

    raised: int = 0
    passed: int = 0


@contextmanager
def run_instances_fails(
    code: str, times: int | None = None, message: str | None = None
) -> Iterator[Fault]:
    """RunInstances answers ``code`` (``times`` times, or always), then works again."""
    original = moto_instances.InstanceBackend.run_instances
    fault = Fault()

    def faulty(self, image_id, count, user_data, security_group_names, **kwargs):  # type: ignore[no-untyped-def]
        if times is None or fault.raised < times:
            fault.raised += 1
            text = message or MESSAGES.get(code, code).format(type=kwargs.get("instance_type"))
            raise EC2ClientError(code, text)
        fault.passed += 1
        return original(self, image_id, count, user_data, security_group_names, **kwargs)

    moto_instances.InstanceBackend.run_instances = faulty  # type: ignore[method-assign]
    try:
        yield fault
    finally:
        moto_instances.InstanceBackend.run_instances = original  # type: ignore[method-assign]


def interrupt_spot(native_id: str, region: str = "us-east-1") -> None:
    """Terminate a spot instance as EC2 does when it reclaims capacity."""
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[DEFAULT_ACCOUNT_ID][region]
    backend.terminate_instances([native_id])
    inst = backend.get_instance(native_id)
    inst.state_reason = moto_instances.StateReason(
        message="Server.SpotInstanceTermination: Spot instance termination",
        code="Server.SpotInstanceTermination",
    )
    inst._reason = "Service initiated"


@contextmanager
def ec2_vcpu_quota(quota_code: str, value: float) -> Iterator[None]:
    """Give moto's Service Quotas an EC2 vCPU quota (moto ships none for EC2)."""
    from moto.servicequotas.models import ServiceQuotasBackend

    original = ServiceQuotasBackend.get_service_quota
    wanted = quota_code

    def with_ec2(self, service_code, quota_code):  # type: ignore[no-untyped-def]
        if service_code == "ec2" and quota_code == wanted:
            return {
                "ServiceCode": "ec2", "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
                "QuotaArn": f"arn:aws:servicequotas:{self.region_name}::ec2/{quota_code}",
                "QuotaCode": quota_code, "QuotaName": "Running instances (vCPUs)",
                "Value": value, "Unit": "None", "Adjustable": True, "GlobalQuota": False,
            }  # fmt: skip
        return original(self, service_code, quota_code)

    ServiceQuotasBackend.get_service_quota = with_ec2  # type: ignore[method-assign]
    try:
        yield
    finally:
        ServiceQuotasBackend.get_service_quota = original  # type: ignore[method-assign]


@contextmanager
def capacity_missing_in(
    zones: set[str] = frozenset(),
    regions: set[str] = frozenset(),
    code: str = "InsufficientInstanceCapacity",
) -> Iterator[Fault]:  # type: ignore[assignment]
    """RunInstances answers ``code`` in these zones (or whole regions), works elsewhere."""
    original = moto_instances.InstanceBackend.run_instances
    fault = Fault()

    def faulty(self, image_id, count, user_data, security_group_names, **kwargs):  # type: ignore[no-untyped-def]
        zone = kwargs.get("placement") or ""
        if not zone and kwargs.get("subnet_id"):  # launched into a zone's subnet
            zone = self.get_subnet(kwargs["subnet_id"]).availability_zone
        if zone in zones or self.region_name in regions:
            fault.raised += 1
            raise EC2ClientError(
                code, MESSAGES.get(code, code).format(type=kwargs.get("instance_type"))
            )
        fault.passed += 1
        return original(self, image_id, count, user_data, security_group_names, **kwargs)

    moto_instances.InstanceBackend.run_instances = faulty  # type: ignore[method-assign]
    try:
        yield fault
    finally:
        moto_instances.InstanceBackend.run_instances = original  # type: ignore[method-assign]


@contextmanager
def vcpu_quota_by_region(
    limits: dict[str, float], quota_code: str = "L-1216C47A"
) -> Iterator[None]:
    """Per-region on-demand vCPU quota in moto's Service Quotas (regions not named: no data)."""
    from moto.servicequotas.models import ServiceQuotasBackend

    original = ServiceQuotasBackend.get_service_quota
    wanted = quota_code

    def with_ec2(self, service_code, quota_code):  # type: ignore[no-untyped-def]
        code = quota_code
        if service_code == "ec2" and code == wanted and self.region_name in limits:
            return {
                "ServiceCode": "ec2",
                "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
                "QuotaArn": f"arn:aws:servicequotas:{self.region_name}::ec2/{code}",
                "QuotaCode": code,
                "QuotaName": "Running On-Demand Standard instances",
                "Value": limits[self.region_name],
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        return original(self, service_code, quota_code)

    ServiceQuotasBackend.get_service_quota = with_ec2  # type: ignore[method-assign]
    try:
        yield
    finally:
        ServiceQuotasBackend.get_service_quota = original  # type: ignore[method-assign]
