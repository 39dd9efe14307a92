"""Azure settings: the ``azure:`` section of $STYX_HOME/config.yaml, the environment, overrides.

Keys (all optional):

``subscription_id``    or env AZURE_SUBSCRIPTION_ID.
``base_url``           ARM endpoint, or env STYX_AZURE_BASE_URL. For sovereign clouds and Azure
                       Stack, e.g. ``https://management.usgovcloudapi.net``.
``access_token``       a pre-fetched ARM bearer token (``az account get-access-token``), or env
                       STYX_AZURE_ACCESS_TOKEN. Used as-is instead of DefaultAzureCredential.
``ca_bundle``          CA file to trust for ``base_url`` (private endpoints, Azure Stack).
``regions``            the regions to offer, instead of asking the subscription.
``region``             the default region (``eastus``).
``ssh_user``           the admin user on VMs (``azureuser``).
``spot_eviction_policy``  ``Delete`` (default: nothing left to pay for) or ``Deallocate``.
``image``              ``publisher:offer:sku:version`` or an image resource id.
``retry_attempts``, ``retry_base_s``, ``credential_timeout_s``, ``polling_interval_s``
                       tuning for retries and long-running operations.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from styx.config import provider_config
from styx.errors import StyxError

PUBLIC_CLOUD = "https://management.azure.com"
DEFAULT_IMAGE = "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"


@dataclass(frozen=True)
class AzureSettings:
    subscription_id: str | None = None
    base_url: str = PUBLIC_CLOUD
    access_token: str | None = None
    ca_bundle: str | None = None
    regions: tuple[str, ...] = ()
    region: str = "eastus"
    ssh_user: str = "azureuser"
    spot_eviction_policy: str = "Delete"
    image: str = DEFAULT_IMAGE
    retry_attempts: int = 4
    retry_base_s: float = 1.0
    credential_timeout_s: float = 20.0
    polling_interval_s: float = 5.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        """The token scope for this ARM endpoint (each cloud has its own audience)."""
        return self.base_url.rstrip("/") + "/.default"


def load_settings(overrides: dict[str, Any] | None = None) -> AzureSettings:
    """Merge config file, environment and explicit overrides (highest wins)."""
    values: dict[str, Any] = dict(provider_config("azure"))
    env = {
        "subscription_id": os.environ.get("AZURE_SUBSCRIPTION_ID"),
        "base_url": os.environ.get("STYX_AZURE_BASE_URL"),
        "access_token": os.environ.get("STYX_AZURE_ACCESS_TOKEN"),
    }
    for key, value in env.items():
        if value and not values.get(key):
            values[key] = value
    values.update(overrides or {})
    known = {f.name for f in fields(AzureSettings)} - {"extra"}
    kwargs = {k: v for k, v in values.items() if k in known and v is not None}
    if "regions" in kwargs:
        kwargs["regions"] = tuple(kwargs["regions"])
    policy = str(kwargs.get("spot_eviction_policy", "Delete")).capitalize()
    if policy not in ("Delete", "Deallocate"):
        raise StyxError(f"azure.spot_eviction_policy: '{policy}'; expected Delete or Deallocate")
    kwargs["spot_eviction_policy"] = policy
    extra = {k: v for k, v in values.items() if k not in known}
    return AzureSettings(**kwargs, extra=extra)
