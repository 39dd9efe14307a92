"""The fake ARM server rejects what ARM rejects, with ARM's error codes and body.

Raw HTTPS to the fake (no provider, no SDK). Sources: the Azure REST API reference
(https://learn.microsoft.com/en-us/rest/api/azure/: ``api-version`` is required on every call),
the versions published per resource type in azure-rest-api-specs, and ARM's error codes
(https://learn.microsoft.com/en-us/azure/azure-resource-manager/troubleshooting/
error-register-resource-provider: NoRegisteredProviderFound, InvalidResourceType).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest

from styx.providers.azure.clients import AzureClients
from tests.azure.conftest import SUBSCRIPTION, TOKEN
from tests.fakes.azure.apiversions import SUPPORTED
from tests.fakes.azure.server import FakeArmServer

SUB = f"/subscriptions/{SUBSCRIPTION}"
VMS = f"{SUB}/providers/Microsoft.Compute/virtualMachines"
GROUPS = f"{SUB}/resourcegroups"


def get(server: FakeArmServer, path: str, version: str | None) -> tuple[int, dict[str, Any]]:
    query = f"?api-version={version}" if version is not None else ""
    req = urllib.request.Request(
        server.url + path + query, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    ctx = ssl.create_default_context(cafile=str(server.ca_path))
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


@pytest.mark.parametrize("path", [SUB, GROUPS, VMS])
def test_absent_api_version_is_400_missing(arm_server: FakeArmServer, path: str) -> None:
    status, body = get(arm_server, path, None)
    assert status == 400
    assert body["error"]["code"] == "MissingApiVersionParameter"
    assert "api-version" in body["error"]["message"]


@pytest.mark.parametrize("version", ["garbage", "2024-7-1"])
def test_malformed_api_version_is_400_invalid(arm_server: FakeArmServer, version: str) -> None:
    status, body = get(arm_server, VMS, version)
    assert (status, body["error"]["code"]) == (400, "InvalidApiVersionParameter")
    assert f"The api-version '{version}' is invalid" in body["error"]["message"]


def test_unknown_version_of_a_provider_type_is_no_registered_provider(
    arm_server: FakeArmServer,
) -> None:
    status, body = get(arm_server, VMS, "1999-01-01")
    assert (status, body["error"]["code"]) == (400, "NoRegisteredProviderFound")
    message = body["error"]["message"]
    assert "API version '1999-01-01' for type 'virtualMachines'" in message
    assert "The supported api-versions are '" in message


@pytest.mark.parametrize("path", [SUB, f"{SUB}/locations", GROUPS])
def test_unknown_version_of_arm_itself_is_invalid(arm_server: FakeArmServer, path: str) -> None:
    status, body = get(arm_server, path, "1999-01-01")
    assert (status, body["error"]["code"]) == (400, "InvalidApiVersionParameter")


def test_a_version_of_another_type_is_refused(arm_server: FakeArmServer) -> None:
    # 2021-07-01 is a resourceSkus version; resource groups never had it.
    assert "2021-07-01" not in SUPPORTED["microsoft.resources/resourcegroups"]
    assert get(arm_server, GROUPS, "2021-07-01")[0] == 400
    assert get(arm_server, f"{SUB}/providers/Microsoft.Compute/skus", "2021-07-01")[0] == 200


def test_unknown_resource_type_is_invalid_resource_type(arm_server: FakeArmServer) -> None:
    status, body = get(arm_server, f"{SUB}/providers/Microsoft.Compute/teapots", "2024-07-01")
    assert (status, body["error"]["code"]) == (400, "InvalidResourceType")


def test_the_providers_hand_written_version_is_published_and_served(
    arm_server: FakeArmServer,
) -> None:
    """Styx calls the subscription and locations paths without an SDK operation: the version it
    writes by hand must be one Microsoft.Resources/subscriptions publishes."""
    version = AzureClients.SUBSCRIPTIONS_API
    assert version in SUPPORTED["microsoft.resources/subscriptions"]
    for path in (SUB, f"{SUB}/locations"):
        status, body = get(arm_server, path, version)
        assert status == 200, body
