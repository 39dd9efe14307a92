"""The shared provider contract, run against the fake Kubernetes API server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from styx.providers.base import CloudProvider, ProvisionRequest
from styx.providers.kubernetes.provider import KubernetesProvider
from tests.contract.suite import ProviderContract
from tests.fakes.kubernetes.server import FakeKubeServer
from tests.kubernetes.conftest import raw_pod


class TestKubernetesContract(ProviderContract):
    expected_provider = "kubernetes"
    gang_size = 3  # "small" is 1 CPU: the fake's nodes (2 + 2 + 4 CPU) hold 8 of them

    @pytest.fixture(autouse=True)
    def _server(self, fake_k8s: FakeKubeServer) -> None:
        self.server = fake_k8s

    @pytest.fixture
    def provider(self, k8s: KubernetesProvider) -> CloudProvider:
        return k8s

    @pytest.fixture
    def make_request(
        self, k8s_request: Callable[..., ProvisionRequest]
    ) -> Callable[..., ProvisionRequest]:
        return k8s_request

    def verify_exists(self, provider: CloudProvider, native_id: str | None, alive: bool) -> None:
        assert native_id is not None and "/" in native_id
        status, body = raw_pod(self.server, native_id)
        if alive:
            assert status == 200, body
            assert body["metadata"]["labels"]["styx-id"]
            assert "deletionTimestamp" not in body["metadata"]
        else:  # gone, or deleted and still Terminating (its grace period), as on a real cluster
            assert status == 404 or body["metadata"].get("deletionTimestamp"), body
