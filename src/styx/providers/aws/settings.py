"""The provider's settings: the ``aws:`` section of config.yaml, overridden by constructor args."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from styx.config import provider_config
from styx.errors import StyxError


@dataclass(frozen=True)
class AWSSettings:
    # Regions searched by list_instances/get_instance (plus the default region and every region
    # Styx launched in). None: only the default region and the launched ones.
    regions: tuple[str, ...] | None = None
    vpc_name: str | None = None  # Name tag of the VPC to use instead of the default VPC
    subnet_names: tuple[str, ...] | None = None  # Name tags of subnets to use in that VPC
    ssh_user: str = "ubuntu"
    instance_profile: str | None = None  # IAM instance profile: a name or an ARN
    retry_attempts: int = 5  # total tries of one call on a transient error
    retry_base_delay_s: float = 0.5
    retry_max_delay_s: float = 20.0
    catalog_ttl_s: float = 24 * 3600.0  # instance types / regions disk cache lifetime
    sg_cleanup_wait_s: float = 90.0  # how long terminate waits to delete the cluster's SG
    # A just-created instance profile takes seconds to reach EC2 (IAM is eventually consistent):
    # RunInstances is retried this long apart, 6 tries, only right after Styx created it.
    profile_wait_s: float = 5.0

    @classmethod
    def load(cls, **overrides: Any) -> AWSSettings:
        known = {f.name for f in fields(cls)}
        values = {**provider_config("aws"), **overrides}
        # Unrelated SkyPilot keys (ssh_proxy_command, use_internal_ips, ...) are not ours.
        values = {k: v for k, v in values.items() if k in known and v is not None}
        for key in ("regions", "subnet_names"):
            if key in values:
                raw = values[key]
                if isinstance(raw, str):
                    raw = [raw]
                if not isinstance(raw, list | tuple):
                    raise StyxError(f"config.yaml: aws.{key} must be a list of names")
                values[key] = tuple(str(v) for v in raw)
        if int(values.get("retry_attempts", 1)) < 1:
            raise StyxError("config.yaml: aws.retry_attempts must be at least 1")
        return cls(**values)
