"""The shared provider contract against the fake GCE server, configured through env vars."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from styx.providers import get_provider
from styx.providers.base import CloudProvider
from tests.contract.suite import ProviderContract, run
from tests.fakes.gcp.backend import FakeGCE


class TestGCPContract(ProviderContract):
    expected_provider = "gcp"
    gang_size = 3

    @pytest.fixture
    def provider(self, fake: FakeGCE, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudProvider]:
        # The env route a user with a private endpoint would take (no constructor arguments).
        monkeypatch.setenv("STYX_GCP_API_ENDPOINT", fake.base_url)
        monkeypatch.setenv("STYX_GCP_ANONYMOUS", "1")
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", fake.project)
        provider = get_provider("gcp")
        yield provider
        run(provider.close())

    def verify_exists(self, provider: CloudProvider, native_id: str | None, alive: bool) -> None:
        """A raw HTTP GET of aggregated/instances, not through the provider or the SDK."""
        settings = provider.settings  # type: ignore[attr-defined]
        url = (
            f"{settings.api_endpoint}/compute/v1/projects/{settings.project_id}"
            "/aggregated/instances"
        )
        with urllib.request.urlopen(url, timeout=5) as resp:
            items = json.load(resp)["items"]
        names = {i["name"] for scope in items.values() for i in scope.get("instances", [])}
        assert (native_id in names) is alive
