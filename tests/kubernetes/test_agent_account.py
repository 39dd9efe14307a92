"""The service account multi-node Styx pods run as (the head execs into the workers with it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from styx.providers.base import ProvisionRequest
from styx.providers.kubernetes.provider import KubernetesProvider
from tests.fakes.kubernetes.server import FakeKubeServer
from tests.kubernetes.conftest import raw_get, raw_pod

RBAC = "/apis/rbac.authorization.k8s.io/v1/namespaces/default"


def test_multi_node_pods_get_an_account_allowed_to_exec(
    fake_k8s: FakeKubeServer, k8s: KubernetesProvider, k8s_request: Callable[..., ProvisionRequest]
) -> None:
    pods = asyncio.run(k8s.provision_many(k8s_request("two"), 2))
    for inst in pods:
        code, pod = raw_pod(fake_k8s, str(inst.native_id))
        assert code == 200 and pod["spec"]["serviceAccountName"] == "styx-agent"
    assert raw_get(fake_k8s, "/api/v1/namespaces/default/serviceaccounts/styx-agent")[0] == 200
    code, role = raw_get(fake_k8s, f"{RBAC}/roles/styx-agent")
    assert code == 200
    assert any("pods/exec" in r["resources"] and "create" in r["verbs"] for r in role["rules"])
    code, binding = raw_get(fake_k8s, f"{RBAC}/rolebindings/styx-agent")
    assert code == 200 and binding["subjects"][0]["name"] == "styx-agent"
    assert fake_k8s.rbac.allows("default", "styx-agent", "create", "pods/exec", "default")
    # single-node clusters never exec from inside a pod: no account needed
    one = asyncio.run(k8s.provision(k8s_request("one")))
    assert "serviceAccountName" not in raw_pod(fake_k8s, str(one.native_id))[1]["spec"]


def test_without_rights_to_create_rbac_pods_use_the_default_account(
    fake_k8s: FakeKubeServer, k8s: KubernetesProvider, k8s_request: Callable[..., ProvisionRequest]
) -> None:
    fake_k8s.fail_next(403, count=1, method="POST", message="forbidden by RBAC")
    pods = asyncio.run(k8s.provision_many(k8s_request("two"), 2))
    assert len(pods) == 2
    for inst in pods:
        assert "serviceAccountName" not in raw_pod(fake_k8s, str(inst.native_id))[1]["spec"]
