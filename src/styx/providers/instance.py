"""The provider-neutral instance model shared by every provider."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType

InstanceId = NewType("InstanceId", str)
"""A Styx instance id: a UUID made *before* the cloud call and used as its idempotency key."""


def new_instance_id() -> InstanceId:
    return InstanceId(uuid.uuid4().hex)


def _provider_members() -> dict[str, str]:
    from styx.providers.registry import PROVIDERS

    return {name.upper(): name for name in PROVIDERS}


# Where an instance runs: one member per registry entry, named after it (``ProviderType.AWS`` is
# "aws"), so that adding a provider to the registry is all it takes.
ProviderType = enum.StrEnum("ProviderType", _provider_members())  # type: ignore[misc]


class InstanceState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    STOPPED = "stopped"
    TERMINATED = "terminated"
    ERROR = "error"

    @property
    def is_alive(self) -> bool:
        """True while the instance exists and may cost money (not terminated)."""
        return self is not InstanceState.TERMINATED


def map_native_state(
    table: dict[str, InstanceState], native: str | None
) -> tuple[InstanceState, str | None]:
    """Map a native state through a provider's explicit table.

    Unknown native states map to ERROR and the raw value is returned so it can be kept.
    """
    if native is not None and native in table:
        return table[native], None
    return InstanceState.ERROR, native


@dataclass(frozen=True)
class InstanceType:
    """A machine shape a provider offers, with the price fields the optimizer uses."""

    name: str
    vcpus: float
    memory_gib: float
    accelerator_name: str | None = None
    accelerator_count: int = 0
    accelerator_memory_gib: float | None = None
    price_per_hour: float | None = None
    spot_price_per_hour: float | None = None
    region: str | None = None
    zones: tuple[str, ...] = ()


# Tag keys put on every cloud resource Styx creates, so the cloud alone can rebuild state.
TAG_INSTANCE_ID = "styx-id"
TAG_CLUSTER = "styx-cluster"
TAG_OWNER = "styx-owner"
TAG_NODE_RANK = "styx-node-rank"


@dataclass
class Instance:
    """One node as seen through a provider."""

    id: InstanceId
    provider: ProviderType
    cluster_name: str
    instance_type: str
    state: InstanceState
    native_id: str | None = None
    region: str | None = None
    zone: str | None = None
    public_ip: str | None = None
    private_ip: str | None = None
    use_spot: bool = False
    node_rank: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    launched_at: datetime | None = None
    native_state: str | None = None
    state_reason: str | None = None
    # How to reach the node: SSH port/user for SSH-reached nodes; a sandbox path for local ones.
    ssh_port: int = 22
    ssh_user: str | None = None

    @property
    def ip(self) -> str | None:
        """The address used to reach the node from the client: public if any, else private."""
        return self.public_ip or self.private_ip

    def to_dict(self) -> dict[str, object]:
        d = {k: v for k, v in self.__dict__.items()}
        d["provider"] = self.provider.value
        d["state"] = self.state.value
        d["launched_at"] = self.launched_at.isoformat() if self.launched_at else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> Instance:
        data = dict(d)
        data["provider"] = ProviderType(data["provider"])
        data["state"] = InstanceState(data["state"])
        launched = data.get("launched_at")
        data["launched_at"] = datetime.fromisoformat(str(launched)) if launched else None
        return cls(**data)  # type: ignore[arg-type]
