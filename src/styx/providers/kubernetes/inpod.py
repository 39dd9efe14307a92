"""The provider inside a Styx pod: a kubeconfig made from the pod's own service account.

The head pod's agent tears its cluster down (autostop, spending caps) with the ``styx-agent``
service account Styx creates in the namespace (its Role may get, list and delete pods and delete
services there). The kubelet gives every pod ``$KUBERNETES_SERVICE_HOST``/``_PORT`` and the
account's token, CA and namespace (``$STYX_KUBE_SA_DIR`` names another folder than the usual
one). This writes a one-context kubeconfig, named as the client's context so that the pods'
recorded region matches, that points at those files (``tokenFile``: the token is not copied).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from styx.errors import CredentialsError

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def in_pod_kubeconfig(context: str) -> str:
    """Write (0600) and return the path of a kubeconfig for this pod's service account."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    sa_dir = Path(os.environ.get("STYX_KUBE_SA_DIR", SA_DIR))
    token = sa_dir / "token"
    if not host or not token.is_file():
        raise CredentialsError(
            "no in-pod service account (KUBERNETES_SERVICE_HOST and a token under "
            f"{sa_dir}): the head cannot reach the Kubernetes API",
            provider="kubernetes",
            native_code="NoServiceAccount",
        )
    namespace_file = sa_dir / "namespace"
    namespace = namespace_file.read_text().strip() if namespace_file.is_file() else "default"
    cluster: dict[str, object] = {"server": f"https://{host}:{port}"}
    if (sa_dir / "ca.crt").is_file():
        cluster["certificate-authority"] = str(sa_dir / "ca.crt")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "in-pod", "cluster": cluster}],
        "users": [{"name": "in-pod", "user": {"tokenFile": str(token)}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": "in-pod", "user": "in-pod", "namespace": namespace},
            }
        ],
        "current-context": context,
    }
    folder = Path.home() / ".styx" / "kube"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "in-pod.kubeconfig"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(config))  # JSON is YAML
    os.replace(tmp, path)
    return str(path)
