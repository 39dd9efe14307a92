"""The three fake clouds as the CLI sees them (config sections, env) and as a witness sees them
(plain boto3 / raw HTTP GETs, never through Styx)."""

from __future__ import annotations

import json
import ssl
import urllib.request
from typing import Any

from tests.fakes.aws.moto_server import MotoServer
from tests.fakes.azure.server import FakeArmServer
from tests.fakes.gcp.backend import FakeGCE

GCP_PROJECT = "styx-e2e"
AZURE_SUBSCRIPTION = "00000000-0000-0000-0000-0000000e2e00"
AZURE_TOKEN = "styx-e2e-token"
AWS_IMAGE = "ami-785db401"  # an Ubuntu AMI moto ships: skips the default-image lookup


def aws_section() -> dict[str, Any]:
    # The endpoint and keys come from the environment (aws_env()), as boto3 reads them.
    return {"retry_base_delay_s": 0.01, "sg_cleanup_wait_s": 0}


def gcp_section(fake: FakeGCE) -> dict[str, Any]:
    return {
        "api_endpoint": fake.base_url,
        "credentials_file": str(fake.credentials_file),
        "project_id": fake.project,
        "retry_base_s": 0.005,
        "retry_cap_s": 0.02,
    }


def azure_section(server: FakeArmServer) -> dict[str, Any]:
    return {
        "subscription_id": AZURE_SUBSCRIPTION,
        "base_url": server.url,
        "access_token": AZURE_TOKEN,
        "ca_bundle": str(server.ca_path),
        "polling_interval_s": 0,
        "retry_base_s": 0.01,
        "credential_timeout_s": 3,
    }


def _ec2(moto: MotoServer, region: str) -> Any:
    import boto3

    return boto3.client("ec2", region_name=region, endpoint_url=moto.url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


def aws_live(moto: MotoServer, cluster: str, regions: tuple[str, ...]) -> int:
    """Instances of the cluster plain boto3 sees alive in ``regions``."""
    total = 0
    for region in set(regions):
        res = _ec2(moto, region).describe_instances(
            Filters=[{"Name": "tag:styx-cluster", "Values": [cluster]},
                     {"Name": "instance-state-name",
                      "Values": ["pending", "running", "stopping", "stopped"]}])  # fmt: skip
        total += sum(len(r["Instances"]) for r in res["Reservations"])
    return total


def gcp_live(fake: FakeGCE, cluster: str) -> int:
    """Instances of the cluster a raw GET of the aggregated list shows (every zone)."""
    from tests.fakes.gcp.auth import access_token

    url = f"{fake.base_url}/compute/v1/projects/{fake.project}/aggregated/instances"
    token = access_token(fake.credentials_file)
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        data = json.load(resp)
    return sum(
        1
        for scoped in data.get("items", {}).values()
        for inst in scoped.get("instances", [])
        if inst.get("labels", {}).get("styx-cluster") == cluster
    )


def azure_live(server: FakeArmServer, cluster: str) -> int:
    """VMs of the cluster a raw GET of the subscription's VM list shows (every group)."""
    url = (
        f"{server.url}/subscriptions/{AZURE_SUBSCRIPTION}/providers/Microsoft.Compute/"
        "virtualMachines?api-version=2024-07-01"
    )
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {AZURE_TOKEN}"})
    ctx = ssl.create_default_context(cafile=str(server.ca_path))
    with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
        data = json.load(resp)
    return sum(1 for vm in data["value"] if (vm.get("tags") or {}).get("styx-cluster") == cluster)
