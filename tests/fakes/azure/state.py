"""The fake ARM cloud's state: resource groups, resources, async operations and fault switches.

Everything here is plain data guarded by one lock; server.py turns HTTP requests into calls on
:class:`FakeArm`. Errors are raised as :class:`ArmError` and rendered in ARM's real error format
(``{"error": {"code", "message", "details"}}``).
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.azure.catalog import DEFAULT_LIMITS, LOCATIONS, SIZES_BY_NAME

Json = dict[str, Any]


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list[Json] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []

    def body(self) -> Json:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


@dataclass
class Operation:
    """An async operation: reports InProgress for ``polls_left`` polls, then finishes."""

    id: str
    location: str
    polls_left: int
    on_done: Callable[[], None] | None = None
    error: Json | None = None
    done: bool = False

    @property
    def status(self) -> str:
        if not self.done:
            return "InProgress"
        return "Failed" if self.error else "Succeeded"


@dataclass
class CreateFault:
    code: str
    message: str
    status: int = 409
    during_lro: bool = (
        False  # True: accepted, then the async operation fails (like real capacity errors)
    )


@dataclass
class Throttle:
    remaining: int
    status: int
    code: str
    match: str | None  # substring of "METHOD path"; None = any request
    method: str | None = None  # only requests with this method; None = any


@dataclass
class Faults:
    deny: bool = False  # every call -> 403 AuthorizationFailed
    create: dict[str, CreateFault] = field(default_factory=dict)  # region -> VM create fault
    throttles: list[Throttle] = field(default_factory=list)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Json | None


class FakeArm:
    """In-memory Azure Resource Manager for one subscription."""

    def __init__(self, subscription: str, token: str, lro_polls: int = 1) -> None:
        self.subscription = subscription
        self.token = token
        self.lro_polls = lro_polls
        self.base_url = ""  # set by the server once it knows its port
        self.lock = threading.RLock()
        self.groups: dict[str, Json] = {}  # lower(name) -> group JSON
        self.resources: dict[str, Json] = {}  # lower(resource id) -> resource JSON
        self.vm_power: dict[str, str] = {}  # lower(vm id) -> PowerState code suffix
        self.operations: dict[str, Operation] = {}
        self.faults = Faults()
        self.limits: dict[str, dict[str, int]] = {loc: dict(DEFAULT_LIMITS) for loc in LOCATIONS}
        self.requests: list[Request] = []
        self._ips = itertools.count(4)

    # ---- switches used by tests ---------------------------------------------------------------

    def inject_create_error(
        self,
        region: str,
        code: str,
        message: str | None = None,
        *,
        status: int = 409,
        during_lro: bool = False,
    ) -> None:
        """Make every VM create in ``region`` fail with ``code`` (immediately or in the LRO)."""
        text = message or f"{code}: injected by the fake for region {region}"
        self.faults.create[region.lower()] = CreateFault(code, text, status, during_lro)

    def throttle(
        self,
        n: int,
        *,
        status: int = 429,
        code: str = "SubscriptionRequestsThrottled",
        match: str | None = None,
        method: str | None = None,
    ) -> None:
        """The next ``n`` requests (matching ``match`` in "METHOD /path", and ``method`` when
        given) fail with ``status``."""
        self.faults.throttles.append(Throttle(n, status, code, match, method))

    def evict(self, vm_name: str) -> None:
        """A spot eviction: Deallocate policy -> deallocated; Delete policy -> VM and disk gone."""
        with self.lock:
            vm = self._find_vm(vm_name)
            if vm is None:
                raise KeyError(vm_name)
            props = vm["properties"]
            if props.get("evictionPolicy") == "Deallocate":
                self.vm_power[vm["id"].lower()] = "deallocated"
            else:
                self._remove_vm(vm)

    def reset_faults(self) -> None:
        self.faults = Faults()

    # ---- queries used by tests ----------------------------------------------------------------

    def names(self, rtype: str) -> list[str]:
        """Names of live resources of ARM type ``rtype`` (Microsoft.Network/networkInterfaces)."""
        with self.lock:
            return sorted(r["name"] for r in self.resources.values() if r["type"] == rtype)

    def vm_requests(self) -> list[Request]:
        return [
            r for r in self.requests if r.method == "PUT" and "/virtualmachines/" in r.path.lower()
        ]

    # ---- helpers ------------------------------------------------------------------------------

    def group_id(self, rg: str) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{rg}"

    def new_operation(
        self, location: str, on_done: Callable[[], None] | None, error: Json | None = None
    ) -> Operation:
        op = Operation(uuid.uuid4().hex, location, self.lro_polls, on_done, error)
        self.operations[op.id] = op
        return op

    def poll(self, op_id: str) -> Operation:
        with self.lock:
            op = self.operations.get(op_id)
            if op is None:
                raise ArmError(404, "OperationNotFound", f"operation {op_id} not found")
            if not op.done:
                if op.polls_left > 0:
                    op.polls_left -= 1
                else:
                    op.done = True
                    if op.on_done:
                        op.on_done()
            return op

    def check_faults(self, method: str, path: str, headers: dict[str, str]) -> None:
        """Auth and throttling, checked before any request is served."""
        with self.lock:
            if headers.get("authorization") != f"Bearer {self.token}":
                raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.")
            if self.faults.deny:
                raise ArmError(
                    403,
                    "AuthorizationFailed",
                    "The client does not have authorization to perform action "
                    f"'{method} {path}' over scope '/subscriptions/{self.subscription}'.",
                )
            for t in self.faults.throttles:
                if t.method is not None and t.method != method:
                    continue
                if t.remaining > 0 and (t.match is None or t.match in f"{method} {path}"):
                    t.remaining -= 1
                    raise ArmError(t.status, t.code, f"injected {t.status} ({t.remaining} left)")

    def _find_vm(self, name: str) -> Json | None:
        for r in self.resources.values():
            if (
                r["type"] == "Microsoft.Compute/virtualMachines"
                and r["name"].lower() == name.lower()
            ):
                return r
        return None

    def _remove_vm(self, vm: Json) -> None:
        """Delete a VM and the attached resources whose deleteOption is Delete (as Azure does)."""
        vm_id = vm["id"].lower()
        self.resources.pop(vm_id, None)
        self.vm_power.pop(vm_id, None)
        props = vm["properties"]
        os_disk = props.get("storageProfile", {}).get("osDisk", {})
        if os_disk.get("deleteOption") == "Delete":
            self.resources.pop(self.disk_id(vm, os_disk).lower(), None)
        for nic in props.get("networkProfile", {}).get("networkInterfaces", []):
            if (nic.get("properties") or {}).get("deleteOption") == "Delete":
                self.resources.pop(nic["id"].lower(), None)

    def disk_id(self, vm: Json, os_disk: Json) -> str:
        rg = vm["id"].split("/")[4]
        name = os_disk.get("name") or f"{vm['name']}_OsDisk"
        return f"{self.group_id(rg)}/providers/Microsoft.Compute/disks/{name}"

    def next_private_ip(self) -> str:
        n = next(self._ips)
        return f"10.0.{n // 250}.{n % 250 + 4}"

    def next_public_ip(self) -> str:
        n = next(self._ips)
        return f"20.{100 + n // 65000}.{(n // 250) % 250}.{n % 250 + 1}"

    # ---- quota --------------------------------------------------------------------------------

    def usage(self, location: str) -> dict[str, int]:
        """vCPUs in use per usage name: deallocated VMs free their cores, stopped ones do not."""
        used: dict[str, int] = dict.fromkeys(DEFAULT_LIMITS, 0)
        for r in self.resources.values():
            if r["type"] != "Microsoft.Compute/virtualMachines" or r["location"] != location:
                continue
            if self.vm_power.get(r["id"].lower()) in ("deallocated", "deallocating"):
                continue
            size = SIZES_BY_NAME.get(r["properties"]["hardwareProfile"]["vmSize"].lower())
            if size is None:
                continue
            if r["properties"].get("priority") == "Spot":
                used["lowPriorityCores"] += size.vcpus
            else:
                used["cores"] += size.vcpus
                used[size.family] = used.get(size.family, 0) + size.vcpus
        return used

    def check_quota(self, location: str, size_name: str, spot: bool) -> None:
        size = SIZES_BY_NAME[size_name.lower()]
        used, limits = self.usage(location), self.limits.get(location, DEFAULT_LIMITS)
        names = ["lowPriorityCores"] if spot else [size.family, "cores"]
        for name in names:
            if used.get(name, 0) + size.vcpus > limits.get(name, 0):
                label = "Low Priority Cores" if spot else f"{name} Cores"
                raise ArmError(
                    409,
                    "OperationNotAllowed",
                    f"Operation could not be completed as it results in exceeding approved "
                    f"{label} quota. Additional details - Deployment Model: Resource Manager, "
                    f"Location: {location}, Current Limit: {limits.get(name, 0)}, Current Usage: "
                    f"{used.get(name, 0)}, Additional Required: {size.vcpus}, (Minimum) New Limit "
                    f"Required: {used.get(name, 0) + size.vcpus}.",
                )
