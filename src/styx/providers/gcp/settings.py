"""GCP provider settings: constructor overrides, then config.yaml's ``gcp:`` section, then env.

Kept separate from the provider so that tests and ``styx check`` can see the resolved values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from styx.config import provider_config

UBUNTU_IMAGE = "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts"
# Deep Learning VM family with the NVIDIA driver and CUDA preinstalled; GPU nodes boot ready.
GPU_IMAGE = (
    "projects/deeplearning-platform-release/global/images/family/common-cu124-ubuntu-2204-py310"
)


@dataclass
class GCPSettings:
    project_id: str | None = None
    api_endpoint: str | None = None  # private endpoint / PSC (or any Compute-compatible URL)
    # A service-account key (JSON) to use instead of Application Default Credentials.
    credentials_file: str | None = None
    # The nodes' identity (the head stops its own cluster with it): a service account email,
    # or "default", the project's Compute Engine default service account.
    service_account: str = "default"
    default_region: str = "us-central1"
    ssh_user: str = "styx"
    network: str = "global/networks/default"
    subnetwork: str | None = None
    image_cpu: str = UBUNTU_IMAGE
    image_gpu: str = GPU_IMAGE
    disk_size_gb: int = 100
    disk_type: str = "pd-balanced"
    # What GCE does to a preempted spot VM: STOP keeps the disk so the node can be restarted.
    spot_termination_action: str = "STOP"
    firewall_source_ranges: tuple[str, ...] = ("0.0.0.0/0",)
    max_attempts: int = 4  # bounded retry of TransientError
    retry_base_s: float = 0.5
    retry_cap_s: float = 8.0
    http_timeout_s: float = 60.0
    operation_timeout_s: float = 600.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None) -> GCPSettings:
        merged: dict[str, Any] = {}
        env_project = os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get(
            "CLOUDSDK_CORE_PROJECT"
        )
        if env_project:
            merged["project_id"] = env_project
        if os.environ.get("STYX_GCP_API_ENDPOINT"):
            merged["api_endpoint"] = os.environ["STYX_GCP_API_ENDPOINT"]
        merged.update(provider_config("gcp"))
        merged.update(overrides or {})
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs = {k: v for k, v in merged.items() if k in known}
        if "firewall_source_ranges" in kwargs:
            kwargs["firewall_source_ranges"] = tuple(kwargs["firewall_source_ranges"])
        return cls(**kwargs, extra={k: v for k, v in merged.items() if k not in known})
