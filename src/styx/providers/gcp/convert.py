"""Styx request -> GCE Instance body, and GCE Instance -> Styx Instance."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from styx.providers.base import ProvisionRequest
from styx.providers.gcp import naming
from styx.providers.gcp.machines import MachineSpec, spec_from_instance
from styx.providers.gcp.settings import GCPSettings
from styx.providers.gcp.states import map_status
from styx.providers.instance import (
    TAG_CLUSTER,
    TAG_INSTANCE_ID,
    TAG_NODE_RANK,
    TAG_OWNER,
    Instance,
    InstanceId,
    ProviderType,
)

# Metadata keys holding exact values that labels can only carry in encoded form.
META_TAGS = "styx-tags"
META_SSH = "ssh-keys"


NODE_SCOPE = "https://www.googleapis.com/auth/compute"


def styx_tags(request: ProvisionRequest, owner: str) -> dict[str, str]:
    tags = dict(request.tags)
    tags.update(
        {
            TAG_INSTANCE_ID: request.instance_id,
            TAG_CLUSTER: request.cluster_name,
            TAG_OWNER: owner,
            TAG_NODE_RANK: str(request.node_rank),
        }
    )
    return tags


def build_instance(
    c: Any,
    request: ProvisionRequest,
    spec: MachineSpec,
    zone: str,
    settings: GCPSettings,
    owner: str,
    ssh_public_key: str,
) -> Any:
    """The compute_v1.Instance to insert (``c`` is the compute_v1 module)."""
    tags = styx_tags(request, owner)
    image = request.image_id or (settings.image_gpu if spec.has_gpus else settings.image_cpu)
    disk = c.AttachedDisk(
        boot=True,
        auto_delete=True,
        initialize_params=c.AttachedDiskInitializeParams(
            source_image=image,
            disk_size_gb=request.disk_size_gb or settings.disk_size_gb,
            disk_type=f"zones/{zone}/diskTypes/{settings.disk_type}",
        ),
    )
    nic = c.NetworkInterface(
        network=settings.network,
        access_configs=[c.AccessConfig(name="External NAT", type_="ONE_TO_ONE_NAT")],
    )
    if settings.subnetwork:
        nic.subnetwork = settings.subnetwork
    scheduling = c.Scheduling()
    if spec.has_gpus:
        # GPU VMs cannot live-migrate: GCE rejects them unless host maintenance terminates them.
        scheduling.on_host_maintenance = "TERMINATE"
        scheduling.automatic_restart = not request.use_spot
    if request.use_spot:
        scheduling.provisioning_model = "SPOT"
        scheduling.instance_termination_action = settings.spot_termination_action
        scheduling.automatic_restart = False
        scheduling.on_host_maintenance = "TERMINATE"
    body = c.Instance(
        name=naming.instance_name(request.instance_id),
        machine_type=f"zones/{zone}/machineTypes/{spec.machine_type}",
        disks=[disk],
        network_interfaces=[nic],
        scheduling=scheduling,
        labels={naming.label_key(k): naming.label_value(v) for k, v in tags.items()},
        tags=c.Tags(items=[naming.network_tag(request.cluster_name)]),
        metadata=c.Metadata(
            items=[
                c.Items(key=META_SSH, value=f"{settings.ssh_user}:{ssh_public_key}"),
                c.Items(key=META_TAGS, value=json.dumps(tags, sort_keys=True)),
            ]
        ),
    )
    # The node's identity: the head's agent stops or deletes its own cluster with it.
    body.service_accounts = [c.ServiceAccount(email=settings.service_account, scopes=[NODE_SCOPE])]
    if spec.accelerator:
        body.guest_accelerators = [
            c.AcceleratorConfig(
                accelerator_type=f"zones/{zone}/acceleratorTypes/{spec.accelerator}",
                accelerator_count=spec.accelerator_count,
            )
        ]
    return body


def to_instance(gi: Any, ssh_user: str) -> Instance:
    """A Styx Instance from a compute_v1.Instance Styx created."""
    meta = {item.key: item.value for item in gi.metadata.items}
    try:
        tags = json.loads(meta.get(META_TAGS) or "{}")
    except ValueError:
        tags = {}
    labels = dict(gi.labels)
    tags = {str(k): str(v) for k, v in tags.items()} or labels
    state, raw = map_status(gi.status or None)
    zone = naming.last_segment(gi.zone) if gi.zone else None
    public_ip = private_ip = None
    for nic in gi.network_interfaces:
        private_ip = private_ip or nic.network_i_p or None
        for ac in nic.access_configs:
            public_ip = public_ip or ac.nat_i_p or None
    sched = gi.scheduling
    spot = sched.provisioning_model == "SPOT" or bool(sched.preemptible)
    accs = [(a.accelerator_type, a.accelerator_count) for a in gi.guest_accelerators]
    try:
        rank = int(tags.get(TAG_NODE_RANK, "0"))
    except ValueError:
        rank = 0
    return Instance(
        id=InstanceId(tags.get(TAG_INSTANCE_ID) or labels.get(TAG_INSTANCE_ID, gi.name)),
        provider=ProviderType.GCP,
        cluster_name=tags.get(TAG_CLUSTER) or labels.get(TAG_CLUSTER, ""),
        instance_type=spec_from_instance(gi.machine_type, accs),
        state=state,
        native_id=gi.name,
        region=zone.rsplit("-", 1)[0] if zone else None,
        zone=zone,
        public_ip=public_ip,
        private_ip=private_ip,
        use_spot=spot,
        node_rank=rank,
        tags=tags,
        launched_at=_parse_time(gi.creation_timestamp),
        native_state=raw or gi.status or None,
        state_reason=gi.status_message or None,
        ssh_user=ssh_user,
    )


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
