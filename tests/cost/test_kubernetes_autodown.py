"""Autodown on Kubernetes: the head pod deletes its cluster's pods with its service account.

The fake API server (tests/fakes/kubernetes) checks the pod's service-account token against the
Role Styx created; the head builds its kubeconfig from that account (providers/kubernetes/
inpod.py) and installs the kubernetes SDK from the wheelhouse. The client stays away.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.cost.conftest import WHEELHOUSE, require_head_wheels
from tests.fakes.kubernetes.server import FakeKubeServer
from tests.kubernetes.conftest import fake_k8s, kubeconfig  # noqa: F401 - fixtures
from tests.kubernetes.test_e2e import styx, styx_pods

pytestmark = pytest.mark.slow


def _pods_or_busy(server: FakeKubeServer) -> bool:
    """Whether Styx pods are left; a fake too busy to answer (a loaded machine) counts as yes."""
    try:
        return bool(styx_pods(server))
    except OSError:  # urllib's URLError and a TLS handshake timeout are both OSErrors
        return True


def test_idle_head_pod_deletes_the_pods(
    fake_k8s: FakeKubeServer,  # noqa: F811
    kubeconfig: Path,  # noqa: F811
    styx_home: Path,
) -> None:
    require_head_wheels()
    (styx_home / "config.yaml").write_text(
        yaml.safe_dump(
            {"autostop": {"check_interval_s": 0.3}, "runtime": {"wheelhouse": str(WHEELHOUSE)}}
        )
    )
    styx(styx_home, kubeconfig, "launch", "-y", "-c", "k8s-idle", "--infra", "k8s/fake",
         "--num-nodes", "2", "-i", "0.05", "--down", "echo hi", timeout=240)  # fmt: skip
    assert len(styx_pods(fake_k8s)) == 2
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _pods_or_busy(fake_k8s):
        time.sleep(0.5)
    assert styx_pods(fake_k8s) == []
    # The deletes came from the head: the client ran nothing after the launch but this wait.
    deletes = [p for m, p in fake_k8s.requests if m == "DELETE" and "/pods/" in p]
    assert len(deletes) >= 2, fake_k8s.requests[-20:]
    assert "No existing clusters." in styx(styx_home, kubeconfig, "status", "-r").stdout
