"""ARM request handlers: one function per REST operation, working on :class:`FakeArm`.

Each handler returns ``Reply``; LRO replies carry absolute URLs on the fake's own scheme and host.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from tests.fakes.azure.catalog import LOCATIONS, SIZES, SIZES_BY_NAME, ZONES, localized_name
from tests.fakes.azure.state import ArmError, FakeArm, Json, Operation

NET = "Microsoft.Network"
COMPUTE = "Microsoft.Compute"
VM_TYPE = f"{COMPUTE}/virtualMachines"
# Resource types served generically (PUT stores the body, GET returns it, DELETE removes it).
GENERIC_TYPES = {
    f"{NET}/virtualNetworks",
    f"{NET}/networkSecurityGroups",
    f"{NET}/publicIPAddresses",
    f"{NET}/networkInterfaces",
    f"{COMPUTE}/disks",
}
TYPE_CASE = {t.split("/")[1].lower(): t for t in [*GENERIC_TYPES, VM_TYPE]}


@dataclass
class Reply:
    status: int
    body: Json | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _ok(body: Json | None, status: int = 200) -> Reply:
    return Reply(status, body)


def async_reply(arm: FakeArm, op: Operation, status: int, body: Json | None) -> Reply:
    """201/202 with an Azure-AsyncOperation URL (and Location for 202), polled until done."""
    sub = f"{arm.base_url}/subscriptions/{arm.subscription}"
    base = f"{sub}/providers/{COMPUTE}/locations/{op.location}"
    headers = {"Azure-AsyncOperation": f"{base}/operations/{op.id}?api-version=2026-04-01"}
    if status == 202:
        headers["Location"] = f"{base}/operationResults/{op.id}?api-version=2026-04-01"
    return Reply(status, body, headers)


def location_reply(arm: FakeArm, op: Operation) -> Reply:
    """202 with only a Location header (DELETE style), polled until it answers 200."""
    url = (
        f"{arm.base_url}/subscriptions/{arm.subscription}/providers/{COMPUTE}/locations/"
        f"{op.location}/operationResults/{op.id}?api-version=2026-04-01"
    )
    return Reply(202, None, {"Location": url, "Retry-After": "0"})


def operation_status(arm: FakeArm, op_id: str) -> Reply:
    op = arm.poll(op_id)
    body: Json = {"name": op.id, "status": op.status}
    if op.error:
        body["error"] = op.error
    return _ok(body)


def operation_result(arm: FakeArm, op_id: str) -> Reply:
    op = arm.poll(op_id)
    if not op.done:
        return Reply(202, None, {"Retry-After": "0"})
    if op.error:
        return Reply(400, {"error": op.error})
    return Reply(200, None)


# ---- subscription-level --------------------------------------------------------------------


def subscription(arm: FakeArm) -> Reply:
    return _ok(
        {
            "id": f"/subscriptions/{arm.subscription}",
            "subscriptionId": arm.subscription,
            "displayName": "Styx fake subscription",
            "state": "Enabled",
        }
    )


def locations(arm: FakeArm) -> Reply:
    return _ok(
        {
            "value": [
                {
                    "id": f"/subscriptions/{arm.subscription}/locations/{loc}",
                    "name": loc,
                    "displayName": loc,
                    "metadata": {"regionType": "Physical"},
                }
                for loc in LOCATIONS
            ]
        }
    )


def vm_sizes(arm: FakeArm, location: str) -> Reply:
    _check_location(location)
    return _ok(
        {
            "value": [
                {
                    "name": s.name,
                    "numberOfCores": s.vcpus,
                    "memoryInMB": s.memory_mb,
                    "osDiskSizeInMB": 1047552,
                    "resourceDiskSizeInMB": 16384,
                    "maxDataDiskCount": 8,
                }
                for s in SIZES
            ]
        }
    )


def skus(arm: FakeArm, query: dict[str, str]) -> Reply:
    m = re.search(r"location eq '([^']+)'", query.get("$filter", ""))
    locs = [m.group(1)] if m else list(LOCATIONS)
    rows = []
    for loc in locs:
        for s in SIZES:
            caps = [
                {"name": "vCPUs", "value": str(s.vcpus)},
                {"name": "MemoryGB", "value": f"{s.memory_mb / 1024:g}"},
            ]
            if s.gpus:
                caps.append({"name": "GPUs", "value": str(s.gpus)})
            rows.append(
                {
                    "resourceType": "virtualMachines",
                    "name": s.name,
                    "tier": "Standard",
                    "size": s.name.removeprefix("Standard_"),
                    "family": s.family,
                    "locations": [loc],
                    "locationInfo": [{"location": loc, "zones": list(ZONES)}],
                    "capabilities": caps,
                    "restrictions": [],
                }
            )
    return _ok({"value": rows})


def usages(arm: FakeArm, location: str) -> Reply:
    _check_location(location)
    with arm.lock:
        used, limits = arm.usage(location), arm.limits[location]
    return _ok(
        {
            "value": [
                {
                    "unit": "Count",
                    "currentValue": used.get(name, 0),
                    "limit": limit,
                    "name": {"value": name, "localizedValue": localized_name(name)},
                }
                for name, limit in limits.items()
            ]
        }
    )


def _check_location(location: str) -> None:
    if location.lower() not in LOCATIONS:
        raise ArmError(400, "NoRegisteredProviderFound", f"location '{location}' is not supported")


# ---- resource groups -------------------------------------------------------------------------


def put_group(arm: FakeArm, rg: str, body: Json) -> Reply:
    with arm.lock:
        existing = arm.groups.get(rg.lower())
        group = {
            "id": arm.group_id(rg),
            "name": rg,
            "type": "Microsoft.Resources/resourceGroups",
            "location": body["location"],
            "tags": body.get("tags") or {},
            "properties": {"provisioningState": "Succeeded"},
        }
        arm.groups[rg.lower()] = group
    return _ok(group, 200 if existing else 201)


def get_group(arm: FakeArm, rg: str) -> Reply:
    with arm.lock:
        group = arm.groups.get(rg.lower())
    if group is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    return _ok(group)


def delete_group(arm: FakeArm, rg: str) -> Reply:
    with arm.lock:
        if rg.lower() not in arm.groups:
            # ARM answers 404 here (its API lists only 200/202 for this call; the SDK rejects a
            # 204), e.g. when two VMs of one cluster are terminated at once and both delete it.
            raise ArmError(
                404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found."
            )

        def done() -> None:
            arm.groups.pop(rg.lower(), None)
            prefix = arm.group_id(rg).lower() + "/"
            for rid in [k for k in arm.resources if k.startswith(prefix)]:
                arm.resources.pop(rid, None)
                arm.vm_power.pop(rid, None)

        op = arm.new_operation("global", done)
    return location_reply(arm, op)


def list_groups(arm: FakeArm, query: dict[str, str]) -> Reply:
    with arm.lock:
        groups = [g for g in arm.groups.values() if _tag_match(g, query.get("$filter"))]
    return _ok({"value": copy.deepcopy(groups)})


def list_group_resources(arm: FakeArm, rg: str, query: dict[str, str]) -> Reply:
    """Generic resource listing in a group, with ARM's tagName/tagValue filter."""
    get_group(arm, rg)
    prefix = arm.group_id(rg).lower() + "/"
    with arm.lock:
        found = [
            {
                "id": r["id"],
                "name": r["name"],
                "type": r["type"],
                "location": r["location"],
                "tags": r.get("tags") or {},
            }
            for k, r in arm.resources.items()
            if k.startswith(prefix) and _tag_match(r, query.get("$filter"))
        ]
    return _ok({"value": found})


def _tag_match(resource: Json, flt: str | None) -> bool:
    if not flt:
        return True
    name = re.search(r"tagName eq '([^']*)'", flt)
    value = re.search(r"tagValue eq '([^']*)'", flt)
    tags = resource.get("tags") or {}
    if name and name.group(1) not in tags:
        return False
    return not (name and value and tags.get(name.group(1)) != value.group(1))


# ---- generic resources (network, disks) ------------------------------------------------------


def resource_id(arm: FakeArm, rg: str, rtype: str, name: str) -> str:
    return f"{arm.group_id(rg)}/providers/{rtype}/{name}"


def put_generic(arm: FakeArm, rg: str, rtype: str, name: str, body: Json) -> Reply:
    get_group(arm, rg)
    rid = resource_id(arm, rg, rtype, name)
    with arm.lock:
        existing = arm.resources.get(rid.lower())
        res = {
            "id": rid,
            "name": name,
            "type": rtype,
            "location": body.get("location"),
            "tags": body.get("tags") or {},
            "properties": copy.deepcopy(body.get("properties") or {}),
        }
        if body.get("sku"):
            res["sku"] = body["sku"]
        if body.get("zones"):
            res["zones"] = body["zones"]
        _fill_network(arm, rid, res, existing)
        res["properties"]["provisioningState"] = "Succeeded"
        arm.resources[rid.lower()] = res
    return _ok(res, 200 if existing else 201)


def _fill_network(arm: FakeArm, rid: str, res: Json, existing: Json | None) -> None:
    """Give subnets ids, IPs addresses and NICs private IPs, checking references exist."""
    props = res["properties"]
    if res["type"] == f"{NET}/virtualNetworks":
        for sub in props.get("subnets", []):
            sub["id"] = f"{rid}/subnets/{sub['name']}"
    elif res["type"] == f"{NET}/publicIPAddresses":
        old = (existing or {}).get("properties", {}).get("ipAddress")
        props["ipAddress"] = old or arm.next_public_ip()
    elif res["type"] == f"{NET}/networkInterfaces":
        nsg = (props.get("networkSecurityGroup") or {}).get("id")
        if nsg and nsg.lower() not in arm.resources:
            raise ArmError(400, "InvalidResourceReference", f"Resource {nsg} was not found.")
        old_cfgs = (existing or {}).get("properties", {}).get("ipConfigurations", [])
        for i, cfg in enumerate(props.get("ipConfigurations", [])):
            cprops = cfg.setdefault("properties", {})
            _check_subnet(arm, (cprops.get("subnet") or {}).get("id", ""))
            pip = (cprops.get("publicIPAddress") or {}).get("id")
            if pip and pip.lower() not in arm.resources:
                raise ArmError(400, "InvalidResourceReference", f"Resource {pip} was not found.")
            old = old_cfgs[i]["properties"].get("privateIPAddress") if i < len(old_cfgs) else None
            cprops["privateIPAddress"] = old or arm.next_private_ip()
            cfg["id"] = f"{rid}/ipConfigurations/{cfg.get('name', 'ipconfig1')}"


def _check_subnet(arm: FakeArm, subnet_id: str) -> None:
    vnet_id, _, sub = subnet_id.lower().partition("/subnets/")
    vnet = arm.resources.get(vnet_id)
    if vnet is None or sub not in [
        s["name"].lower() for s in vnet["properties"].get("subnets", [])
    ]:
        raise ArmError(400, "InvalidResourceReference", f"Subnet {subnet_id} was not found.")


def get_generic(arm: FakeArm, rg: str, rtype: str, name: str) -> Reply:
    with arm.lock:
        res = arm.resources.get(resource_id(arm, rg, rtype, name).lower())
        if res is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource '{rtype}/{name}' under resource group '{rg}' was not found.",
            )
        return _ok(copy.deepcopy(res))


def get_subnet(arm: FakeArm, rg: str, vnet: str, name: str) -> Reply:
    res = get_generic(arm, rg, f"{NET}/virtualNetworks", vnet).body or {}
    for sub in res["properties"].get("subnets", []):
        if sub["name"].lower() == name.lower():
            return _ok(sub)
    raise ArmError(404, "NotFound", f"Subnet {name} not found in {vnet}.")


def delete_generic(arm: FakeArm, rg: str, rtype: str, name: str) -> Reply:
    rid = resource_id(arm, rg, rtype, name).lower()
    with arm.lock:
        if rid not in arm.resources:
            return Reply(204)
        _check_not_in_use(arm, rid, rtype)
        arm.resources.pop(rid)
    return Reply(200)


def _check_not_in_use(arm: FakeArm, rid: str, rtype: str) -> None:
    """Azure refuses to delete a NIC used by a VM, an IP or NSG used by a NIC, a disk in use."""
    blobs = [str(r) for k, r in arm.resources.items() if k != rid]
    users = [b for b in blobs if f"'{rid}'" in b.lower()]
    if not users:
        return
    codes = {
        f"{NET}/networkInterfaces": "NicInUse",
        f"{NET}/publicIPAddresses": "PublicIPAddressCannotBeDeleted",
        f"{NET}/networkSecurityGroups": "InUseNetworkSecurityGroupCannotBeDeleted",
        f"{COMPUTE}/disks": "OperationNotAllowed",
    }
    raise ArmError(
        400, codes.get(rtype, "InUse"), f"Resource {rid} is in use and cannot be deleted."
    )


def list_generic(arm: FakeArm, rg: str, rtype: str) -> Reply:
    get_group(arm, rg)
    prefix = f"{arm.group_id(rg)}/providers/{rtype}/".lower()
    with arm.lock:
        found = [copy.deepcopy(r) for k, r in arm.resources.items() if k.startswith(prefix)]
    return _ok({"value": found})


def canonical_type(namespace: str, type_name: str) -> str:
    rtype = TYPE_CASE.get(type_name.lower())
    if rtype is None or not rtype.lower().startswith(namespace.lower() + "/"):
        raise ArmError(
            400,
            "InvalidResourceType",
            f"The resource type '{namespace}/{type_name}' is not served by this fake.",
        )
    return rtype


def check_size(size: str) -> None:
    if size.lower() not in SIZES_BY_NAME:
        raise ArmError(
            400,
            "InvalidParameter",
            f"The value {size} provided for the VM size is not valid.",
            [{"code": "InvalidParameter", "target": "vmSize", "message": size}],
        )
