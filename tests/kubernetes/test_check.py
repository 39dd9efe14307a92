"""check() and is_available() with, without, and with a broken kubeconfig."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from styx.errors import CredentialsError
from styx.providers.kubernetes.provider import KubernetesProvider
from tests.fakes.kubernetes.server import FakeKubeServer
from tests.kubernetes.conftest import FAST, dead_url

run = asyncio.run


def test_check_names_context_and_server(k8s: KubernetesProvider, fake_k8s: FakeKubeServer) -> None:
    assert run(k8s.is_available()) is True
    line = run(k8s.check())
    assert line == f"kubernetes: enabled: context fake at {fake_k8s.url} (namespace default)"


def test_without_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    provider = KubernetesProvider(**FAST)
    assert run(provider.is_available()) is False
    line = run(provider.check())
    assert line.startswith("kubernetes: disabled: no kubeconfig at") and "KUBECONFIG" in line
    assert "\n" not in line
    with pytest.raises(CredentialsError):
        run(provider.list_regions())


def test_kubeconfig_path_from_config_yaml(
    fake_k8s: FakeKubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, styx_home: Path
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    path = fake_k8s.write_kubeconfig(tmp_path / "from-config", contexts=("cfg",))
    (styx_home / "config.yaml").write_text(f"kubernetes:\n  kubeconfig: {path}\n")
    provider = KubernetesProvider(**FAST)
    assert provider.settings.kubeconfig == str(path)
    assert run(provider.list_regions()) == ["cfg"]
    assert run(provider.is_available()) is True


def test_rejected_credentials(
    fake_k8s: FakeKubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fake_k8s.write_kubeconfig(tmp_path / "kc", token="wrong-token")
    monkeypatch.setenv("KUBECONFIG", str(path))
    provider = KubernetesProvider(**FAST)
    assert run(provider.is_available()) is False
    line = run(provider.check())
    assert "disabled: context fake:" in line and "Unauthorized" in line
    assert "refresh the kubeconfig credentials" in line


def test_unreachable_server_answers_quickly(
    fake_k8s: FakeKubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fake_k8s.write_kubeconfig(tmp_path / "kc", contexts=(), current="dead",
                                     extra_clusters={"dead": dead_url()})  # fmt: skip
    monkeypatch.setenv("KUBECONFIG", str(path))
    provider = KubernetesProvider(**FAST)
    start = time.monotonic()
    assert run(provider.is_available()) is False
    assert time.monotonic() - start < 15  # not a hang: a refused port, bounded by check_timeout
    assert "cannot reach the API server" in run(provider.check())


def test_falls_back_to_an_allowed_context_that_answers(
    fake_k8s: FakeKubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fake_k8s.write_kubeconfig(tmp_path / "kc", contexts=("live",), current="dead",
                                     extra_clusters={"dead": dead_url()})  # fmt: skip
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert run(KubernetesProvider(**FAST).is_available()) is True
    only_dead = KubernetesProvider(allowed_contexts=["dead"], **FAST)
    assert run(only_dead.is_available()) is False


def test_settings_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, styx_home: Path
) -> None:
    from styx.errors import StyxError
    from styx.providers.kubernetes.settings import resolve_settings

    (styx_home / "config.yaml").write_text(
        "kubernetes:\n  kubeconfig: /from/config\n  allowed_contexts: only-one\n"
        "  provision_timeout: 12\n  namespace: ml\n"
    )
    monkeypatch.setenv("KUBECONFIG", "/from/env")
    s = resolve_settings()
    assert (s.kubeconfig, s.allowed_contexts, s.schedule_timeout_s, s.namespace) == (
        "/from/env", ("only-one",), 12.0, "ml")  # fmt: skip
    assert resolve_settings(kubeconfig="/explicit", namespace="x").namespace == "x"
    monkeypatch.delenv("KUBECONFIG")
    assert resolve_settings().kubeconfig == "/from/config"
    with pytest.raises(StyxError, match="unknown Kubernetes provider option"):
        resolve_settings(bogus=1)
