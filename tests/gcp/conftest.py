"""Fixtures for the GCP provider: a fake GCE REST server per test and a provider aimed at it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

# google-auth reads these at import time: never probe a metadata server from tests.
os.environ["NO_GCE_CHECK"] = "true"
os.environ["GCE_METADATA_HOST"] = "127.0.0.1:9"
os.environ["GCE_METADATA_IP"] = "127.0.0.1:9"

from styx.providers import get_provider
from styx.providers.base import ProvisionRequest
from styx.providers.gcp.provider import GCPProvider
from tests.fakes.gcp.backend import FakeGCE
from tests.fakes.gcp.server import start_fake_gce

PROJECT = "styx-proj"
CREDENTIAL_ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "CLOUDSDK_CORE_PROJECT",
    "GCLOUD_PROJECT",
    "STYX_GCP_API_ENDPOINT",
)


@pytest.fixture(autouse=True)
def isolated_gcloud(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's gcloud config, ADC file or project variables."""
    for name in CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)
    gcloud = tmp_path / "gcloud-config"
    gcloud.mkdir()
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcloud))
    from google.auth.compute_engine import _metadata

    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)


@pytest.fixture
def fake() -> Iterator[FakeGCE]:
    with start_fake_gce(PROJECT) as f:
        yield f


def fake_config(fake: FakeGCE, **extra: object) -> dict[str, object]:
    return {
        "api_endpoint": fake.base_url,
        "credentials_file": str(fake.credentials_file),  # a key the fake verifies
        "project_id": fake.project,
        "retry_base_s": 0.005,
        "retry_cap_s": 0.02,
        **extra,
    }


@pytest.fixture
def gcp(fake: FakeGCE) -> Iterator[GCPProvider]:
    provider = get_provider("gcp", **fake_config(fake))
    assert isinstance(provider, GCPProvider)
    yield provider
    import asyncio

    asyncio.run(provider.close())


@pytest.fixture
def make_request() -> Callable[..., ProvisionRequest]:
    def make(cluster: str, **overrides: object) -> ProvisionRequest:
        overrides.setdefault("instance_type", "e2-standard-2")
        overrides.setdefault("region", "us-central1")
        return ProvisionRequest(cluster_name=cluster, **overrides)  # type: ignore[arg-type]

    return make
