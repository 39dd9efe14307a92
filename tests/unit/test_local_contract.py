from __future__ import annotations

from collections.abc import Callable

import pytest

from styx.providers import get_provider
from styx.providers.base import CloudProvider, ProvisionRequest
from tests.contract.suite import ProviderContract


class TestLocalContract(ProviderContract):
    expected_provider = "local"
    gang_size = 2

    @pytest.fixture
    def provider(self) -> CloudProvider:
        return get_provider("local")

    @pytest.fixture
    def make_request(self) -> Callable[..., ProvisionRequest]:
        def make(cluster: str, **overrides: object) -> ProvisionRequest:
            return ProvisionRequest(cluster_name=cluster, instance_type="local-1cpu", **overrides)

        return make

    def verify_exists(self, provider: CloudProvider, native_id: str | None, alive: bool) -> None:
        import os

        assert native_id is not None
        assert os.path.isdir(native_id) is alive
