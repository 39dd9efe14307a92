"""Fixtures for catalog/optimizer tests: a fresh catalog cache per test (each test has its own
STYX_HOME) and a local pricing server with the STYX_*_URL variables pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from styx import catalog
from tests.fakes.pricing.server import PricingServer


@pytest.fixture(autouse=True)
def fresh_catalog_cache() -> Iterator[None]:
    catalog.clear_cache()
    yield
    catalog.clear_cache()


@pytest.fixture
def pricing(monkeypatch: pytest.MonkeyPatch) -> Iterator[PricingServer]:
    with PricingServer() as server:
        monkeypatch.setenv("STYX_AWS_PRICING_URL", server.url)
        monkeypatch.setenv("STYX_AZURE_PRICES_URL", f"{server.url}/api/retail/prices")
        monkeypatch.setenv("STYX_GCP_BILLING_URL", f"{server.url}/v1")
        monkeypatch.setenv("STYX_REFRESH_TIMEOUT", "1")
        yield server
