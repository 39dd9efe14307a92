"""Azure resource names derived from Styx ids.

The VM name is the idempotency key: it is made from the Styx instance id, so a retried create
is a PUT to the same name, which ARM treats as the same VM.
"""

from __future__ import annotations

import re

VM_PREFIX = "styx-"
VNET = "styx-vnet"
SUBNET = "styx-subnet"
VNET_CIDR = "10.0.0.0/16"
SUBNET_CIDR = "10.0.0.0/20"


def vm_name(instance_id: str) -> str:
    return f"{VM_PREFIX}{instance_id}"  # 37 characters: under Linux's 64


def instance_id_of(vm: str) -> str | None:
    return vm[len(VM_PREFIX) :] if vm.startswith(VM_PREFIX) else None


def group_name(cluster: str, region: str) -> str:
    """One resource group per cluster and region (ARM allows 90 chars of [-\\w._()])."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", cluster)[:60]
    return f"styx-{safe}-{region}"


def nic_name(vm: str) -> str:
    return f"{vm}-nic"


def ip_name(vm: str) -> str:
    return f"{vm}-ip"


def nsg_name(vm: str) -> str:
    return f"{vm}-nsg"


def disk_name(vm: str) -> str:
    return f"{vm}-osdisk"
