"""Node identities given at provisioning, and what the head is told (never a secret)."""

from __future__ import annotations

import asyncio
from typing import Any

from styx.providers.base import ProvisionRequest
from tests.aws.conftest import aws, ec2, make_provider, make_request, moto_server  # noqa: F401
from tests.azure.conftest import arm, arm_server, azure  # noqa: F401 - fixtures
from tests.fakes.azure.state import FakeArm


def test_azure_vm_gets_a_system_assigned_identity(azure: Any, arm: FakeArm) -> None:  # noqa: F811
    req = ProvisionRequest(cluster_name="ident", instance_type="Standard_D2s_v3", region="eastus")
    asyncio.run(azure.provision(req))
    assert arm.vm_requests()[-1].body["identity"] == {"type": "SystemAssigned"}
    (vm,) = [r for r in arm.resources.values() if r["type"] == "Microsoft.Compute/virtualMachines"]
    assert vm["identity"]["type"] == "SystemAssigned" and vm["identity"]["principalId"]
    head = azure.head_config("eastus")
    assert head["subscription_id"] == azure.settings.subscription_id
    assert head["base_url"] == azure.settings.base_url
    assert azure.settings.access_token and "access_token" not in head  # the client's token stays


def test_gcp_and_aws_head_config_carry_no_credentials() -> None:
    from styx.providers import get_provider

    gcp = get_provider("gcp", project_id="p1", credentials_file="/keys/sa.json",
                       api_endpoint="https://compute.example")  # fmt: skip
    assert gcp.head_config("us-central1") == {  # type: ignore[attr-defined]
        "default_region": "us-central1", "project_id": "p1",
        "api_endpoint": "https://compute.example",
    }  # fmt: skip
    aws_provider = get_provider("aws", regions=["us-west-2"])
    assert aws_provider.head_config("eu-west-1") == {"regions": ["eu-west-1"]}  # type: ignore[attr-defined]


def test_aws_nodes_get_the_styx_profile_once_even_before_ec2_knows_it(
    make_provider: Any,  # noqa: F811
    make_request: Any,  # noqa: F811
    ec2: Any,  # noqa: F811
) -> None:
    import boto3

    from tests.fakes.aws.faults import run_instances_fails

    provider = make_provider(profile_wait_s=0.0)
    # What EC2 answers for a profile IAM has just made but not yet propagated, twice.
    late = ("Value (styx-node) for parameter iamInstanceProfile.name is invalid. "
            "Invalid IAM Instance Profile name")  # fmt: skip
    with run_instances_fails("InvalidParameterValue", times=2, message=late) as fault:
        (inst,) = asyncio.run(provider.provision_many(make_request("prof"), 1))
    assert fault.raised == 2 and fault.passed == 1
    raw = ec2.describe_instances(InstanceIds=[inst.native_id])["Reservations"][0]["Instances"][0]
    assert raw["IamInstanceProfile"]["Arn"].endswith("/styx-node")
    iam = boto3.client("iam", region_name="us-east-1")
    doc = iam.get_role_policy(RoleName="styx-node", PolicyName="styx-node-autostop")
    statements = {s["Sid"]: s for s in doc["PolicyDocument"]["Statement"]}
    assert set(statements["StopOwnCluster"]["Action"]) == {
        "ec2:StopInstances", "ec2:TerminateInstances"}  # fmt: skip
    assert "aws:ResourceTag/styx-id" in str(statements["StopOwnCluster"]["Condition"])
    # A second launch by the same provider asks IAM nothing more.
    asyncio.run(provider.provision_many(make_request("prof2"), 1))
    assert provider.stats.calls["iam.CreateRole"] == 1
    assert provider.stats.calls["iam.GetInstanceProfile"] == 1
