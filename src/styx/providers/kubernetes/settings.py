"""Where the provider's settings come from: arguments, $KUBECONFIG / config.yaml, defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from styx.config import provider_config
from styx.errors import StyxError

DEFAULT_NAMESPACE = "default"
# Images must have python3 (3.11+, for the Styx agent on the head pod), bash and setsid:
# the runtime is installed into the head pod as on an SSH head.
DEFAULT_CPU_IMAGE = "python:3.11-slim"
DEFAULT_GPU_IMAGE = "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"  # CUDA + Python 3.11


@dataclass(frozen=True)
class KubeSettings:
    kubeconfig: str  # one path or several joined by os.pathsep, as $KUBECONFIG allows
    namespace: str | None = None  # None: the context's namespace, else "default"
    allowed_contexts: tuple[str, ...] | None = None
    schedule_timeout_s: float = 30.0  # how long provision waits for pods to be scheduled
    request_timeout_s: float = 20.0
    check_timeout_s: float = 3.0  # is_available / check: a dead server must not hang `styx check`
    retry_attempts: int = 4  # for 429 / 5xx / connection errors
    retry_backoff_s: float = 0.5
    cpu_image: str = DEFAULT_CPU_IMAGE
    gpu_image: str = DEFAULT_GPU_IMAGE

    def kubeconfig_paths(self) -> list[Path]:
        return [Path(p).expanduser() for p in self.kubeconfig.split(os.pathsep) if p]

    def kubeconfig_exists(self) -> bool:
        return any(p.is_file() for p in self.kubeconfig_paths())


def resolve_settings(**overrides: Any) -> KubeSettings:
    """Explicit arguments win; else $KUBECONFIG, then ``kubernetes:`` in config.yaml, defaults."""
    section = provider_config("kubernetes")
    given = {k: v for k, v in overrides.items() if v is not None}
    in_pod_context = given.pop("in_pod_context", None)
    if in_pod_context is not None:  # on a head pod: its own service account (inpod.py)
        from styx.providers.kubernetes.inpod import in_pod_kubeconfig

        given["kubeconfig"] = in_pod_kubeconfig(str(in_pod_context))
    kubeconfig = (
        given.pop("kubeconfig", None)
        or os.environ.get("KUBECONFIG")
        or section.get("kubeconfig")
        or str(Path("~/.kube/config").expanduser())
    )
    values: dict[str, Any] = {}
    for key in KubeSettings.__dataclass_fields__:
        if key == "kubeconfig":
            continue
        if key in given:
            values[key] = given.pop(key)
        elif key in section:
            values[key] = section[key]
    if given:
        raise StyxError(f"unknown Kubernetes provider option(s): {', '.join(sorted(given))}")
    if "schedule_timeout_s" not in values and "provision_timeout" in section:
        values["schedule_timeout_s"] = float(section["provision_timeout"])  # SkyPilot's key
    allowed = values.get("allowed_contexts")
    if allowed is not None:
        values["allowed_contexts"] = (
            (allowed,) if isinstance(allowed, str) else tuple(str(c) for c in allowed)
        )
    return KubeSettings(kubeconfig=str(kubeconfig), **values)
