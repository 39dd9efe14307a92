"""The resource group, VNet/subnet, and the per-VM NSG, public IP and NIC.

Every call is a PUT on a name Styx chose, so running any step twice is harmless; that is what
makes a retried provision safe.
"""

from __future__ import annotations

import asyncio
from typing import Any

from styx.errors import InstanceNotFoundError
from styx.providers.azure import names
from styx.providers.azure.clients import AzureClients, as_json


async def ensure_group(az: AzureClients, rg: str, region: str, tags: dict[str, str]) -> None:
    body = {"location": region, "tags": tags}
    await az.call(az.resources.resource_groups.create_or_update, rg, body, region=region)


async def ensure_vnet(az: AzureClients, rg: str, region: str, tags: dict[str, str]) -> str:
    """The cluster's VNet in this region (shared by its nodes); returns the subnet id."""
    body = {
        "location": region,
        "tags": tags,
        "properties": {
            "addressSpace": {"addressPrefixes": [names.VNET_CIDR]},
            "subnets": [{"name": names.SUBNET, "properties": {"addressPrefix": names.SUBNET_CIDR}}],
        },
    }
    vnet = await _put(
        az, az.network.virtual_networks.begin_create_or_update, rg, names.VNET, body, region
    )
    return str(vnet["properties"]["subnets"][0]["id"])


def _nsg_rules(ports: tuple[int, ...]) -> list[dict[str, Any]]:
    rules = []
    for i, port in enumerate(sorted({22, *ports})):
        rules.append(
            {
                "name": f"styx-allow-{port}",
                "properties": {
                    "priority": 1000 + i,
                    "direction": "Inbound",
                    "access": "Allow",
                    "protocol": "Tcp",
                    "sourceAddressPrefix": "*",
                    "sourcePortRange": "*",
                    "destinationAddressPrefix": "*",
                    "destinationPortRange": str(port),
                },
            }
        )
    return rules


async def create_nic(
    az: AzureClients,
    rg: str,
    vm: str,
    region: str,
    zone: str | None,
    subnet_id: str,
    ports: tuple[int, ...],
    tags: dict[str, str],
) -> str:
    """NSG (inbound 22 + the task's ports), a static public IP and the NIC; returns the NIC id."""
    nsg_body = {
        "location": region,
        "tags": tags,
        "properties": {"securityRules": _nsg_rules(ports)},
    }
    ip_body: dict[str, Any] = {
        "location": region,
        "tags": tags,
        "sku": {"name": "Standard"},
        "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"},
    }
    if zone:
        ip_body["zones"] = [zone]
    nsg, ip = await asyncio.gather(
        _put(
            az,
            az.network.network_security_groups.begin_create_or_update,
            rg,
            names.nsg_name(vm),
            nsg_body,
            region,
            zone,
        ),
        _put(
            az,
            az.network.public_ip_addresses.begin_create_or_update,
            rg,
            names.ip_name(vm),
            ip_body,
            region,
            zone,
        ),
    )
    nic_body = {
        "location": region,
        "tags": tags,
        "properties": {
            "networkSecurityGroup": {"id": nsg["id"]},
            "ipConfigurations": [
                {
                    "name": "ipconfig1",
                    "properties": {
                        "subnet": {"id": subnet_id},
                        "publicIPAddress": {"id": ip["id"]},
                        "privateIPAllocationMethod": "Dynamic",
                    },
                }
            ],
        },
    }
    nic = await _put(
        az,
        az.network.network_interfaces.begin_create_or_update,
        rg,
        names.nic_name(vm),
        nic_body,
        region,
        zone,
    )
    return str(nic["id"])


async def _put(
    az: AzureClients,
    begin: Any,
    rg: str,
    name: str,
    body: dict[str, Any],
    region: str,
    zone: str | None = None,
) -> dict[str, Any]:
    return as_json(await az.call(lambda: begin(rg, name, body).result(), region=region, zone=zone))


async def delete_vm_resources(az: AzureClients, rg: str, vm: str, region: str | None) -> None:
    """Delete the NIC, then its public IP and NSG, then the OS disk. Missing ones are fine.

    The order matters: Azure refuses to delete an IP or NSG still attached to a NIC, and a NIC
    still attached to a VM (so the VM must be gone first).
    """
    net = az.network
    await _delete(az, net.network_interfaces.begin_delete, rg, names.nic_name(vm), region)
    await asyncio.gather(
        _delete(az, net.public_ip_addresses.begin_delete, rg, names.ip_name(vm), region),
        _delete(az, net.network_security_groups.begin_delete, rg, names.nsg_name(vm), region),
        _delete(az, az.compute.disks.begin_delete, rg, names.disk_name(vm), region),
    )


async def _delete(az: AzureClients, begin: Any, rg: str, name: str, region: str | None) -> None:
    try:
        await az.call(lambda: begin(rg, name).result(), region=region)
    except InstanceNotFoundError:
        pass


async def delete_group_if_empty(az: AzureClients, rg: str, region: str | None) -> bool:
    """Delete the cluster's group (and its VNet) once no VM is left in it."""
    try:
        vms = await az.call(lambda: list(az.compute.virtual_machines.list(rg)), region=region)
    except InstanceNotFoundError:
        return True
    if vms:
        return False
    try:
        await az.call(lambda: az.resources.resource_groups.begin_delete(rg).result(), region=region)
    except InstanceNotFoundError:
        pass
    return True
