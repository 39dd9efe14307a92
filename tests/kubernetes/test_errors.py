"""The error table, driven by faults the fake API server injects on the wire."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from styx.errors import (
    CredentialsError,
    InvalidRequestError,
    ProviderError,
    QuotaError,
    TransientError,
)
from styx.providers.base import ProvisionRequest
from styx.providers.kubernetes.errors import translate
from styx.providers.kubernetes.provider import KubernetesProvider
from tests.fakes.kubernetes.server import FakeKubeServer
from tests.kubernetes.conftest import dead_url

run = asyncio.run
Req = Callable[..., ProvisionRequest]


def test_resource_quota_403_is_quota_error(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    fake_k8s.quota_exceeded = True
    with pytest.raises(QuotaError) as info:
        run(k8s.provision(k8s_request("q")))
    assert info.value.native_code == "403 Forbidden" and info.value.region == "fake"
    assert "exceeded quota" in str(info.value)
    assert fake_k8s.undeleted_pod_names() == []


def test_401_is_credentials_error_and_not_retried(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    fake_k8s.auth_fail = True
    before = len(fake_k8s.requests)
    with pytest.raises(CredentialsError) as info:
        run(k8s.list_instances())
    assert info.value.native_code == "401 Unauthorized"
    assert len(fake_k8s.requests) - before == 1
    assert run(k8s.is_available()) is False


def test_rbac_403_is_credentials_error(k8s: KubernetesProvider, fake_k8s: FakeKubeServer) -> None:
    fake_k8s.fail_next(403, message='pods is forbidden: User "x" cannot list resource "pods"')
    with pytest.raises(CredentialsError, match="cannot list"):
        run(k8s.list_instances())


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_5xx_are_retried_then_transient(
    status: int, k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    fake_k8s.fail_next(status, count=2)
    assert run(k8s.list_instances()) == []  # two failures, then success on the third try
    fake_k8s.fail_next(status, count=100)
    before = len(fake_k8s.requests)
    with pytest.raises(TransientError) as info:
        run(k8s.list_instances())
    assert info.value.native_code is not None and info.value.native_code.startswith(str(status))
    assert len(fake_k8s.requests) - before == k8s.settings.retry_attempts  # bounded


def test_create_retried_after_5xx_stays_single(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    fake_k8s.fail_next(500, count=1, method="POST")  # the first create attempt fails
    inst = run(k8s.provision(k8s_request("retry")))
    assert fake_k8s.pod_names() == [(inst.native_id or "").split("/")[1]]


def test_422_is_invalid_request(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    # "default" exists (a GET suffices), so the first POST is the pod create.
    fake_k8s.fail_next(422, message="spec.containers[0].image: Invalid value", method="POST")
    with pytest.raises(InvalidRequestError, match="Invalid value"):
        run(k8s.provision(k8s_request("bad")))


def test_connection_refused_is_transient(
    fake_k8s: FakeKubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fake_k8s.write_kubeconfig(tmp_path / "kc", contexts=(), current="dead",
                                     extra_clusters={"dead": dead_url()})  # fmt: skip
    monkeypatch.setenv("KUBECONFIG", str(path))
    provider = KubernetesProvider(retry_attempts=2, retry_backoff_s=0.01)
    with pytest.raises(TransientError, match="cannot reach the API server"):
        run(provider.list_instances())


def test_translate_table_directly() -> None:
    from kubernetes.client.exceptions import ApiException

    def api_exc(status: int, message: str) -> ApiException:
        exc = ApiException(status=status, reason="R")
        exc.body = json.dumps({"kind": "Status", "message": message, "reason": "Why"})
        return exc

    cases = {
        401: CredentialsError, 403: CredentialsError, 400: InvalidRequestError,
        422: InvalidRequestError, 429: TransientError, 502: TransientError,
    }  # fmt: skip
    for status, cls in cases.items():
        err = translate(api_exc(status, "m"), "ctx", "act")
        assert type(err) is cls and err.region == "ctx" and err.native_code == f"{status} Why"
    assert type(translate(api_exc(403, "x exceeded quota: q"), None, "a")) is QuotaError
    assert type(translate(api_exc(418, "teapot"), None, "a")) is ProviderError


def test_gang_with_one_rejected_create_leaves_no_pod(
    k8s: KubernetesProvider, k8s_request: Req, fake_k8s: FakeKubeServer
) -> None:
    # "default" exists, so the only POSTs are the three pod creates; one is refused.
    fake_k8s.fail_next(422, message="one bad pod", method="POST")
    with pytest.raises(InvalidRequestError, match="one bad pod"):
        run(k8s.provision_many(k8s_request("gang-err"), 3))
    assert fake_k8s.undeleted_pod_names() == []
