"""The shared provider contract, run against the fake ARM server."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from styx.providers.base import CloudProvider, ProvisionRequest
from tests.azure.conftest import TOKEN
from tests.contract.suite import CloudFaults, FailoverContract, ProviderContract
from tests.fakes.azure.server import FakeArmServer
from tests.fakes.azure.state import FakeArm


def raw_get(server: FakeArmServer, path: str) -> tuple[int, dict[str, Any]]:
    """An independent HTTPS GET against the fake (no Azure SDK involved)."""
    ctx = ssl.create_default_context(cafile=str(server.ca_path))
    req = urllib.request.Request(
        f"{server.url}{path}?api-version=2026-04-01", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


class ArmFaults(CloudFaults):
    """The fake ARM server's switches; VM PUTs counted from its request log."""

    regions = ("eastus", "westus2")
    instance_type = "Standard_D2s_v3"
    family = "standardDSv3Family"  # the ARM usage name this size counts against

    def __init__(self, arm: FakeArm) -> None:
        self.arm = arm

    @contextmanager
    def zero_quota(self, region: str) -> Iterator[None]:
        limits = self.arm.limits[region]
        saved = limits[self.family]
        limits[self.family] = 0
        try:
            yield
        finally:
            limits[self.family] = saved

    @contextmanager
    def no_capacity(self) -> Iterator[None]:
        for region in self.regions:
            self.arm.inject_create_error(region, "AllocationFailed", during_lro=True)
        try:
            yield
        finally:
            self.arm.reset_faults()

    @contextmanager
    def throttled(self, times: int) -> Iterator[None]:
        self.arm.throttle(times, method="PUT", match="Microsoft.Compute/virtualMachines/")
        yield

    def launch_calls(self) -> int:
        return len(self.arm.vm_requests())


class TestAzureContract(ProviderContract, FailoverContract):
    expected_provider = "azure"
    gang_size = 3

    @pytest.fixture
    def faults(self, arm: FakeArm) -> ArmFaults:
        return ArmFaults(arm)

    @pytest.fixture
    def provider(self, azure: CloudProvider, arm_server: FakeArmServer) -> CloudProvider:
        self.server = arm_server
        return azure

    @pytest.fixture
    def make_request(self) -> Callable[..., ProvisionRequest]:
        def make(cluster: str, **overrides: Any) -> ProvisionRequest:
            values: dict[str, Any] = {"instance_type": "Standard_D2s_v3", "region": "eastus"}
            return ProvisionRequest(cluster_name=cluster, **{**values, **overrides})

        return make

    def verify_exists(self, provider: CloudProvider, native_id: str | None, alive: bool) -> None:
        assert native_id is not None and "/virtualMachines/" in native_id
        status, body = raw_get(self.server, native_id)
        if alive:
            assert status == 200 and body["name"] in native_id
        else:
            assert status == 404, body
