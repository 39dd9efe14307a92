"""Fixtures: a fake ARM server over HTTPS on a free 127.0.0.1 port, and a provider pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.azure.server import FakeArmServer
from tests.fakes.azure.state import FakeArm

SUBSCRIPTION = "00000000-0000-0000-0000-00000000c0de"
TOKEN = "styx-test-token"


@pytest.fixture
def arm_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArmServer]:
    # Nothing in these tests may fall back to the real cloud or Entra ID.
    for var in (
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_TENANT_ID",
        "STYX_AZURE_BASE_URL",
        "STYX_AZURE_ACCESS_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    server = FakeArmServer(FakeArm(SUBSCRIPTION, TOKEN), tmp_path / "arm-tls").start()
    yield server
    server.stop()


@pytest.fixture
def arm(arm_server: FakeArmServer) -> FakeArm:
    return arm_server.arm


def provider_config(server: FakeArmServer, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "subscription_id": SUBSCRIPTION,
        "base_url": server.url,
        "access_token": TOKEN,
        "ca_bundle": str(server.ca_path),
        "polling_interval_s": 0,
        "retry_base_s": 0.01,
        "credential_timeout_s": 3,
    }
    config.update(overrides)
    return config


@pytest.fixture
def azure(arm_server: FakeArmServer) -> Iterator[Any]:
    from styx.providers import get_provider

    provider = get_provider("azure", **provider_config(arm_server))
    yield provider
    import asyncio

    asyncio.run(provider.close())
