"""The shared provider contract, run against the fake ARM server."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from styx.providers.base import CloudProvider, ProvisionRequest
from tests.azure.conftest import TOKEN
from tests.contract.suite import ProviderContract
from tests.fakes.azure.server import FakeArmServer


def raw_get(server: FakeArmServer, path: str) -> tuple[int, dict[str, Any]]:
    """An independent HTTPS GET against the fake (no Azure SDK involved)."""
    ctx = ssl.create_default_context(cafile=str(server.cert_path))
    req = urllib.request.Request(
        f"{server.url}{path}?api-version=2026-04-01", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


class TestAzureContract(ProviderContract):
    expected_provider = "azure"
    gang_size = 3

    @pytest.fixture
    def provider(self, azure: CloudProvider, arm_server: FakeArmServer) -> CloudProvider:
        self.server = arm_server
        return azure

    @pytest.fixture
    def make_request(self) -> Callable[..., ProvisionRequest]:
        def make(cluster: str, **overrides: Any) -> ProvisionRequest:
            return ProvisionRequest(
                cluster_name=cluster, instance_type="Standard_D2s_v3", region="eastus", **overrides
            )

        return make

    def verify_exists(self, provider: CloudProvider, native_id: str | None, alive: bool) -> None:
        assert native_id is not None and "/virtualMachines/" in native_id
        status, body = raw_get(self.server, native_id)
        if alive:
            assert status == 200 and body["name"] in native_id
        else:
            assert status == 404, body
