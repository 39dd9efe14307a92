"""EC2 instance states and the mapping of a DescribeInstances record to a Styx Instance."""

from __future__ import annotations

import re
from typing import Any

from styx.providers.instance import (
    TAG_CLUSTER,
    TAG_INSTANCE_ID,
    TAG_NODE_RANK,
    Instance,
    InstanceId,
    InstanceState,
    ProviderType,
    map_native_state,
)

# The one explicit table. 'stopping' counts as STOPPED (it will not run jobs again until
# started) and 'shutting-down' as TERMINATED (it is already gone for scheduling purposes).
STATE_TABLE: dict[str, InstanceState] = {
    "pending": InstanceState.PENDING,
    "running": InstanceState.RUNNING,
    "stopping": InstanceState.STOPPED,
    "stopped": InstanceState.STOPPED,
    "shutting-down": InstanceState.TERMINATED,
    "terminated": InstanceState.TERMINATED,
}

# Native states that still hold (or may again hold) compute or disks.
LIVE_NATIVE_STATES = ("pending", "running", "stopping", "stopped")

SPOT_INTERRUPTION = "Server.SpotInstanceTermination"

_MEMBER = re.compile(r"^(?P<base>.+)-(?P<index>\d+)$")


def member_id(base: str, launch_index: int) -> InstanceId:
    """The Styx id of one node of a gang.

    A gang is ONE RunInstances call, and TagSpecifications are the same for every instance it
    makes, so all members carry the gang's ``styx-id``. Tagging each member with its own id
    would cost one CreateTags call per node; instead a member's id is derived from the tag and
    the AmiLaunchIndex EC2 gives it (0 for a single instance, so its id is the tag itself).
    """
    return InstanceId(base if launch_index == 0 else f"{base}-{launch_index}")


def tag_values_for(instance_id: str) -> list[str]:
    """The ``styx-id`` tag values under which ``instance_id`` may be stored."""
    values = [instance_id]
    match = _MEMBER.match(instance_id)
    if match:
        values.append(match.group("base"))
    return values


def tags_of(raw: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in raw.get("Tags") or []}


def to_instance(raw: dict[str, Any], region: str, ssh_user: str) -> Instance | None:
    """A Styx Instance from one DescribeInstances record (None if it is not Styx's)."""
    tags = tags_of(raw)
    base = tags.get(TAG_INSTANCE_ID)
    if not base:
        return None
    index = int(raw.get("AmiLaunchIndex") or 0)
    native = (raw.get("State") or {}).get("Name")
    state, unknown = map_native_state(STATE_TABLE, native)
    reason = (raw.get("StateReason") or {}).get("Code")
    try:
        base_rank = int(tags.get(TAG_NODE_RANK, "0"))
    except ValueError:
        base_rank = 0
    return Instance(
        id=member_id(base, index),
        provider=ProviderType.AWS,
        cluster_name=tags.get(TAG_CLUSTER, ""),
        instance_type=raw.get("InstanceType", ""),
        state=state,
        native_id=raw.get("InstanceId"),
        region=region,
        zone=(raw.get("Placement") or {}).get("AvailabilityZone"),
        public_ip=raw.get("PublicIpAddress"),
        private_ip=raw.get("PrivateIpAddress"),
        use_spot=raw.get("InstanceLifecycle") == "spot",
        node_rank=base_rank + index,
        tags=tags,
        launched_at=raw.get("LaunchTime"),
        native_state=native,
        # An unknown native state keeps its raw value here too, so 'styx status' can show it.
        state_reason=reason or (f"unknown EC2 state '{unknown}'" if unknown else None),
        ssh_user=ssh_user,
    )
