"""The service account Styx pods run as, allowed to exec into the other pods of the namespace.

A multi-node job is started by the head pod's agent, which reaches the worker pods through the
API's ``pods/exec`` (``styx.agent.kubeexec``) with the head's service-account token. So Styx
creates, once per namespace, a ``styx-agent`` ServiceAccount, a Role granting ``create``/``get``
on ``pods/exec``, ``get``/``list``/``delete`` on ``pods`` and ``delete`` on ``services`` (the
head tears its own cluster down on autostop or at its spending cap), and a RoleBinding between
them; pods name it in ``serviceAccountName``. A Role made by an older Styx (without ``delete``)
is left as it is: delete it once to have it made again.

When the kubeconfig's user may not create RBAC objects (403), pods run as the namespace's
``default`` service account instead, which then needs that same permission for multi-node jobs
(single-node clusters never exec from inside the pod).
"""

from __future__ import annotations

from typing import Any

from styx.errors import CredentialsError
from styx.providers.kubernetes.api import ContextApi

AGENT_ACCOUNT = "styx-agent"
RBAC_GROUP = "rbac.authorization.k8s.io"


def account_bodies(namespace: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    meta = {"name": AGENT_ACCOUNT, "labels": {"styx-managed": "true"}}
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta)}
    role = {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "Role",
        "metadata": dict(meta),
        "rules": [
            {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
            # The head tears its own cluster down (autostop, spending caps).
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]},
            {"apiGroups": [""], "resources": ["services"], "verbs": ["delete"]},
        ],
    }
    binding = {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "RoleBinding",
        "metadata": dict(meta),
        "subjects": [{"kind": "ServiceAccount", "name": AGENT_ACCOUNT, "namespace": namespace}],
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": AGENT_ACCOUNT},
    }
    return account, role, binding


async def ensure_agent_account(api: ContextApi) -> str | None:
    """Create (409 = already there) the agent's account, role and binding in the context's
    namespace; the account name, or None when RBAC forbids it (pods use ``default``)."""
    from kubernetes import client

    rbac = client.RbacAuthorizationV1Api(api.api_client)
    account, role, binding = account_bodies(api.namespace)
    try:
        await api.call(
            "create service account",
            api.core.create_namespaced_service_account,
            api.namespace,
            account,
            allow=(409,),
        )
        await api.call(
            "create role", rbac.create_namespaced_role, api.namespace, role, allow=(409,)
        )
        await api.call(
            "create role binding",
            rbac.create_namespaced_role_binding,
            api.namespace,
            binding,
            allow=(409,),
        )
    except CredentialsError:
        return None
    return AGENT_ACCOUNT
