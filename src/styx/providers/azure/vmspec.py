"""The ARM body for one VM (REST names, so it reads like the Azure docs)."""

from __future__ import annotations

from typing import Any

from styx.errors import InvalidRequestError
from styx.providers.azure import names
from styx.providers.base import ProvisionRequest


def image_reference(image: str) -> dict[str, str]:
    """``publisher:offer:sku:version`` (a marketplace URN) or a full image resource id."""
    if image.startswith("/subscriptions/"):
        return {"id": image}
    parts = image.split(":")
    if len(parts) != 4:
        raise InvalidRequestError(
            f"image '{image}': expected publisher:offer:sku:version or an image resource id",
            provider="azure",
            native_code="InvalidImage",
        )
    publisher, offer, sku, version = parts
    return {"publisher": publisher, "offer": offer, "sku": sku, "version": version}


def vm_body(
    request: ProvisionRequest,
    region: str,
    nic_id: str,
    tags: dict[str, str],
    *,
    ssh_user: str,
    public_key: str,
    image: str,
    eviction_policy: str,
) -> dict[str, Any]:
    vm = names.vm_name(request.instance_id)
    os_disk: dict[str, Any] = {
        "name": names.disk_name(vm),
        "createOption": "FromImage",
        "caching": "ReadWrite",
        "deleteOption": "Delete",
        "managedDisk": {"storageAccountType": "Premium_LRS"},
    }
    if request.disk_size_gb:
        os_disk["diskSizeGB"] = request.disk_size_gb
    props: dict[str, Any] = {
        "hardwareProfile": {"vmSize": request.instance_type},
        "storageProfile": {
            "imageReference": image_reference(request.image_id or image),
            "osDisk": os_disk,
        },
        "osProfile": {
            "computerName": vm,
            "adminUsername": ssh_user,
            "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "ssh": {
                    "publicKeys": [
                        {"path": f"/home/{ssh_user}/.ssh/authorized_keys", "keyData": public_key}
                    ]
                },
            },
        },
        "networkProfile": {
            "networkInterfaces": [
                {"id": nic_id, "properties": {"primary": True, "deleteOption": "Delete"}}
            ]
        },
    }
    if request.use_spot:
        # maxPrice -1: pay up to the on-demand price, never evicted for price, only capacity.
        props["priority"] = "Spot"
        props["evictionPolicy"] = eviction_policy
        props["billingProfile"] = {"maxPrice": -1}
    body: dict[str, Any] = {"location": region, "tags": tags, "properties": props}
    # The node's identity: the head's agent stops or deletes its own cluster with it (through
    # DefaultAzureCredential's managed-identity step), once a role is assigned to it.
    body["identity"] = {"type": "SystemAssigned"}
    if request.zone:
        body["zones"] = [request.zone]
    return body
