"""The shared provider contract against the fake GCE server, configured through env vars."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from styx.providers import get_provider
from styx.providers.base import CloudProvider
from tests.contract.suite import CloudFaults, FailoverContract, ProviderContract, run
from tests.fakes.gcp.auth import access_token
from tests.fakes.gcp.backend import FakeGCE
from tests.fakes.gcp.catalog import ZONES


class GCEFaults(CloudFaults):
    """The fake GCE server's switches; instances.insert POSTs counted from its request log."""

    regions = ("us-central1", "europe-west4")
    instance_type = "e2-standard-2"

    def __init__(self, fake: FakeGCE) -> None:
        self.fake = fake

    @contextmanager
    def zero_quota(self, region: str) -> Iterator[None]:
        self.fake.set_quota(region, "CPUS", 0)
        yield

    @contextmanager
    def no_capacity(self) -> Iterator[None]:
        for region in self.regions:
            for zone in ZONES[region]:
                self.fake.exhaust_zone(zone)
        yield
        self.fake.op_faults.clear()

    @contextmanager
    def throttled(self, times: int) -> Iterator[None]:
        self.fake.inject_http_error(
            429, "rateLimitExceeded", times=times, method="POST", path_contains="/instances"
        )
        yield

    def launch_calls(self) -> int:
        return sum(
            1 for r in self.fake.requests if r.method == "POST" and r.path.endswith("/instances")
        )


class TestGCPContract(ProviderContract, FailoverContract):
    expected_provider = "gcp"
    gang_size = 3

    @pytest.fixture
    def faults(self, fake: FakeGCE) -> GCEFaults:
        return GCEFaults(fake)

    @pytest.fixture
    def provider(self, fake: FakeGCE, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudProvider]:
        # The env route a user with a private endpoint would take (no constructor arguments).
        monkeypatch.setenv("STYX_GCP_API_ENDPOINT", fake.base_url)
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(fake.credentials_file))
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
        token = access_token(Path(os.environ["GOOGLE_APPLICATION_CREDENTIALS"]))
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as resp:
            items = json.load(resp)["items"]
        names = {i["name"] for scope in items.values() for i in scope.get("instances", [])}
        assert (native_id in names) is alive
