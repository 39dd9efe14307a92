"""Node identities given at provisioning, and what the head is told (never a secret)."""

from __future__ import annotations

import asyncio
from typing import Any

from styx.providers.base import ProvisionRequest
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
    aws = get_provider("aws", regions=["us-west-2"])
    assert aws.head_config("eu-west-1") == {"regions": ["eu-west-1"]}  # type: ignore[attr-defined]
