"""Fixtures for the Kubernetes provider: a fake API server per test, reached via a kubeconfig."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from styx.providers import get_provider
from styx.providers.base import ProvisionRequest
from styx.providers.kubernetes.provider import KubernetesProvider
from tests.fakes.kubernetes.server import TOKEN, FakeKubeServer, free_port

FAST = {"schedule_timeout_s": 2.0, "retry_backoff_s": 0.01, "check_timeout_s": 1.0}


@pytest.fixture
def fake_k8s() -> Iterator[FakeKubeServer]:
    with FakeKubeServer() as server:
        yield server


@pytest.fixture
def kubeconfig(fake_k8s: FakeKubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = fake_k8s.write_kubeconfig(tmp_path / "kubeconfig", contexts=("fake",))
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


@pytest.fixture
def k8s(kubeconfig: Path) -> Iterator[KubernetesProvider]:
    provider = get_provider("k8s", **FAST)
    assert isinstance(provider, KubernetesProvider)
    yield provider
    asyncio.run(provider.close())


@pytest.fixture
def k8s_request() -> Callable[..., ProvisionRequest]:
    def make(cluster: str, **overrides: Any) -> ProvisionRequest:
        overrides.setdefault("instance_type", "small")
        return ProvisionRequest(cluster_name=cluster, **overrides)

    return make


def raw_get(server: FakeKubeServer, path: str) -> tuple[int, dict[str, Any]]:
    """An HTTP GET to the fake that does not go through the provider or the SDK."""
    req = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=5, context=server.tls.client_context()) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def raw_pod(server: FakeKubeServer, native_id: str) -> tuple[int, dict[str, Any]]:
    namespace, _, name = native_id.partition("/")
    return raw_get(server, f"/api/v1/namespaces/{namespace}/pods/{name}")


def dead_url() -> str:
    """A URL where nothing listens (a port just freed)."""
    return f"https://127.0.0.1:{free_port()}"
