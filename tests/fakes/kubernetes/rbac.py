"""Service accounts and namespaced RBAC for the fake API server, just enough for pods/exec.

A pod runs as its ``spec.serviceAccountName`` (``default`` when unset). Processes exec'd in a
pod find that account's token in a folder named by ``$STYX_KUBE_SA_DIR`` (the real path,
/var/run/secrets/kubernetes.io/serviceaccount, is not writable here). A service-account token
may only do what a RoleBinding in its namespace grants, and this fake only grants ``pods/exec``
(``create``) and ``pods`` reads; everything else answers 403 as RBAC would.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

SA_TOKEN_PREFIX = "styx-fake-sa:"
RBAC = "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}"


def sa_token(namespace: str, account: str) -> str:
    return f"{SA_TOKEN_PREFIX}{namespace}:{account}"


def parse_sa_token(token: str) -> tuple[str, str] | None:
    if not token.startswith(SA_TOKEN_PREFIX):
        return None
    namespace, _, account = token[len(SA_TOKEN_PREFIX) :].partition(":")
    return namespace, account


class FakeRbac:
    def __init__(self, root: Path, ca_path: Path) -> None:
        self.root = root
        self.ca_path = ca_path
        # kind -> (namespace, name) -> object
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {
            "ServiceAccount": {},
            "Role": {},
            "RoleBinding": {},
        }

    def sa_dir(self, namespace: str, account: str) -> Path:
        """The pod's mounted service-account folder: token, namespace and the API's ca.crt."""
        folder = self.root / "_serviceaccounts" / namespace / account
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "token").write_text(sa_token(namespace, account))
        (folder / "namespace").write_text(namespace)
        (folder / "ca.crt").write_bytes(self.ca_path.read_bytes())
        return folder

    def allows(self, namespace: str, account: str, verb: str, resource: str, ns: str) -> bool:
        """Does a RoleBinding in ``ns`` give this account ``verb`` on ``resource``?"""
        if ns != namespace:
            return False
        for (bns, _), binding in self.objects["RoleBinding"].items():
            if bns != ns:
                continue
            subjects = binding.get("subjects") or []
            if not any(
                s.get("kind") == "ServiceAccount"
                and s.get("name") == account
                and s.get("namespace", ns) == namespace
                for s in subjects
            ):
                continue
            ref = binding.get("roleRef") or {}
            role = self.objects["Role"].get((ns, ref.get("name", "")))
            if ref.get("kind") != "Role" or role is None:
                continue
            for rule in role.get("rules") or []:
                verbs, resources = rule.get("verbs") or [], rule.get("resources") or []
                if (verb in verbs or "*" in verbs) and (resource in resources or "*" in resources):
                    return True
        return False

    def create(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """The stored object, or None when one of that name exists (the caller answers 409)."""
        name = body.get("metadata", {}).get("name", "")
        key = (namespace, name)
        if key in self.objects[kind]:
            return None
        obj = copy.deepcopy(body)
        obj["kind"] = kind
        obj.setdefault("metadata", {})["namespace"] = namespace
        self.objects[kind][key] = obj
        return obj

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects[kind].get((namespace, name))
