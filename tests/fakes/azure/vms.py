"""Virtual machine handlers: create/get/list/instanceView/powerOff/deallocate/start/delete.

A VM's provisioningState and PowerState move through the same steps as on Azure, one step per
poll of its async operation: Creating/starting -> Succeeded/running, running -> stopping ->
stopped, -> deallocating -> deallocated, -> starting -> running, Deleting -> gone.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

from tests.fakes.azure.handlers import (
    COMPUTE,
    VM_TYPE,
    Reply,
    async_reply,
    check_size,
    get_group,
    location_reply,
    resource_id,
)
from tests.fakes.azure.state import ArmError, FakeArm, Json

POWER_TEXT = {
    "starting": "VM starting",
    "running": "VM running",
    "stopping": "VM stopping",
    "stopped": "VM stopped",
    "deallocating": "VM deallocating",
    "deallocated": "VM deallocated",
}


def _vm(arm: FakeArm, rg: str, name: str) -> Json:
    vm = arm.resources.get(resource_id(arm, rg, VM_TYPE, name).lower())
    if vm is None:
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The Resource '{VM_TYPE}/{name}' under resource group '{rg}' was not found.",
        )
    return vm


def instance_view(arm: FakeArm, vm: Json) -> Json:
    state = vm["properties"]["provisioningState"]
    statuses = [
        {
            "code": f"ProvisioningState/{state.lower()}",
            "level": "Info",
            "displayStatus": f"Provisioning {state.lower()}",
        }
    ]
    power = arm.vm_power.get(vm["id"].lower())
    if power:
        statuses.append(
            {"code": f"PowerState/{power}", "level": "Info", "displayStatus": POWER_TEXT[power]}
        )
    return {"computerName": vm["name"], "statuses": statuses}


def _render(arm: FakeArm, vm: Json, expand: bool) -> Json:
    out = copy.deepcopy(vm)
    if expand:
        out["properties"]["instanceView"] = instance_view(arm, vm)
    return out


def put_vm(arm: FakeArm, rg: str, name: str, body: Json) -> Reply:
    get_group(arm, rg)
    location = body["location"].lower()
    props = body.get("properties") or {}
    with arm.lock:
        existing = arm.resources.get(resource_id(arm, rg, VM_TYPE, name).lower())
        if existing is not None:  # PUT is idempotent on the name: same VM, same answer
            existing["tags"] = body.get("tags") or existing["tags"]
            return Reply(200, _render(arm, existing, False))
        fault = arm.faults.create.get(location)
        if fault and not fault.during_lro:
            raise ArmError(fault.status, fault.code, fault.message)
        check_size(props["hardwareProfile"]["vmSize"])
        _check_nics(arm, props)
        spot = props.get("priority") == "Spot"
        arm.check_quota(location, props["hardwareProfile"]["vmSize"], spot)
        vm: Json = {
            "id": resource_id(arm, rg, VM_TYPE, name),
            "name": name,
            "type": VM_TYPE,
            "location": location,
            "tags": body.get("tags") or {},
            "properties": copy.deepcopy(props),
        }
        if body.get("zones"):
            vm["zones"] = body["zones"]
        if (body.get("identity") or {}).get("type") == "SystemAssigned":
            # What ARM answers for a system-assigned managed identity: its service principal.
            vm["identity"] = {"type": "SystemAssigned", "principalId": str(uuid.uuid4()),
                              "tenantId": "00000000-0000-0000-0000-00000000a2e0"}  # fmt: skip
        vm["properties"]["provisioningState"] = "Creating"
        vm["properties"]["vmId"] = name
        vm["properties"]["timeCreated"] = datetime.now(UTC).isoformat()
        arm.resources[vm["id"].lower()] = vm
        arm.vm_power[vm["id"].lower()] = "starting"
        error = {"code": fault.code, "message": fault.message} if fault else None

        def done() -> None:
            if vm["id"].lower() not in arm.resources:
                return
            if error:
                vm["properties"]["provisioningState"] = "Failed"
                arm.vm_power.pop(vm["id"].lower(), None)
                return
            vm["properties"]["provisioningState"] = "Succeeded"
            arm.vm_power[vm["id"].lower()] = "running"
            _make_os_disk(arm, vm)

        op = arm.new_operation(location, done, error)
        return async_reply(arm, op, 201, _render(arm, vm, False))


def _check_nics(arm: FakeArm, props: Json) -> None:
    nics = props.get("networkProfile", {}).get("networkInterfaces", [])
    if not nics:
        raise ArmError(400, "InvalidParameter", "Required parameter 'networkProfile' is missing.")
    for nic in nics:
        if nic["id"].lower() not in arm.resources:
            raise ArmError(400, "InvalidResourceReference", f"Resource {nic['id']} was not found.")


def _make_os_disk(arm: FakeArm, vm: Json) -> None:
    """Azure makes the OS disk itself; it does not copy the VM's tags onto it."""
    os_disk = vm["properties"].setdefault("storageProfile", {}).setdefault("osDisk", {})
    disk_id = arm.disk_id(vm, os_disk)
    os_disk.setdefault("name", disk_id.rsplit("/", 1)[1])
    os_disk.setdefault("managedDisk", {})["id"] = disk_id
    arm.resources[disk_id.lower()] = {
        "id": disk_id,
        "name": disk_id.rsplit("/", 1)[1],
        "type": f"{COMPUTE}/disks",
        "location": vm["location"],
        "tags": {},
        "properties": {
            "provisioningState": "Succeeded",
            "diskState": "Attached",
            "diskSizeGB": os_disk.get("diskSizeGB", 30),
        },
    }


def get_vm(arm: FakeArm, rg: str, name: str, query: dict[str, str]) -> Reply:
    with arm.lock:
        expand = query.get("$expand", "").lower() == "instanceview"
        return Reply(200, _render(arm, _vm(arm, rg, name), expand))


def get_instance_view(arm: FakeArm, rg: str, name: str) -> Reply:
    with arm.lock:
        return Reply(200, instance_view(arm, _vm(arm, rg, name)))


def list_vms(arm: FakeArm, rg: str | None, query: dict[str, str]) -> Reply:
    if rg is not None:
        get_group(arm, rg)
    prefix = (arm.group_id(rg) if rg else f"/subscriptions/{arm.subscription}").lower() + "/"
    with arm.lock:
        vms = [
            _render(arm, r, False)
            for k, r in arm.resources.items()
            if r["type"] == VM_TYPE and k.startswith(prefix)
        ]
    return Reply(200, {"value": vms})


# action -> (power state while in progress, power state when done)
ACTIONS = {
    "poweroff": ("stopping", "stopped"),
    "deallocate": ("deallocating", "deallocated"),
    "start": ("starting", "running"),
}


def vm_action(arm: FakeArm, rg: str, name: str, action: str) -> Reply:
    with arm.lock:
        vm = _vm(arm, rg, name)
        key = vm["id"].lower()
        if action not in ACTIONS:
            raise ArmError(400, "InvalidParameter", f"unknown action {action}")
        if vm["properties"]["provisioningState"] in ("Creating", "Deleting"):
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Operation '{action}' is not allowed on VM '{name}' while it is "
                f"{vm['properties']['provisioningState'].lower()}.",
            )
        during, after = ACTIONS[action]
        current = arm.vm_power.get(key)
        if action == "start" and current != after:
            arm.check_quota(
                vm["location"],
                vm["properties"]["hardwareProfile"]["vmSize"],
                vm["properties"].get("priority") == "Spot",
            )
        if current != after:
            arm.vm_power[key] = during

        def done() -> None:
            if key in arm.resources:
                arm.vm_power[key] = after

        op = arm.new_operation(vm["location"], done)
        return async_reply(arm, op, 202, None)


def delete_vm(arm: FakeArm, rg: str, name: str) -> Reply:
    with arm.lock:
        try:
            vm = _vm(arm, rg, name)
        except ArmError:
            return Reply(204)
        vm["properties"]["provisioningState"] = "Deleting"

        def done() -> None:
            arm._remove_vm(vm)

        op = arm.new_operation(vm["location"], done)
        return location_reply(arm, op)
