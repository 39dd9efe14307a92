"""State and behaviour of the fake Compute Engine (no HTTP here; see server.py).

Resources are the JSON GCE returns (camelCase, ``id`` as decimal strings, URLs in selfLink /
zone / machineType). Operations start RUNNING and finish after ``polls_to_done`` polls
(zoneOperations.get or .wait); instances step PROVISIONING -> STAGING -> RUNNING, one step per
read. Fault switches (see :class:`FakeGCE` methods) make the fake fail where GCE would.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes.gcp import catalog, validate
from tests.fakes.gcp.errors import ApiError

NAME_RE = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
JSON = dict[str, Any]
__all__ = ["JSON", "ApiError", "FakeGCE", "Recorded"]


@dataclass
class HttpFault:
    status: int
    reason: str
    message: str
    times: int
    method: str | None = None
    path_contains: str | None = None


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: JSON | None
    authorization: str | None = None


@dataclass
class _Op:
    resource: JSON
    polls_left: int
    on_done: Callable[[], None] | None = None
    error: tuple[str, str, int] | None = None  # (code, message, httpErrorStatusCode)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _tail(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class FakeGCE:
    project: str = "styx-proj"
    base_url: str = "http://127.0.0.1"
    polls_to_done: int = 2
    lock: threading.RLock = field(default_factory=threading.RLock)
    instances: dict[tuple[str, str], JSON] = field(default_factory=dict)
    firewalls: dict[str, JSON] = field(default_factory=dict)
    operations: dict[str, _Op] = field(default_factory=dict)
    request_ids: dict[str, str] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    http_faults: list[HttpFault] = field(default_factory=list)
    op_faults: dict[str, tuple[str, str]] = field(default_factory=dict)  # zone -> (code, msg)
    quotas: dict[str, dict[str, float]] = field(default_factory=dict)
    gpus_all_regions: float = catalog.GPUS_ALL_REGIONS_DEFAULT
    accounts: Any = None  # auth.FakeAccounts, set by start_fake_gce
    credentials_file: Any = None  # Path of a trusted service-account key, set by start_fake_gce
    _ids: Any = field(default_factory=lambda: itertools.count(4_181_000_000_000_000_001, 7919))
    _ips: Any = field(default_factory=lambda: itertools.count(2))

    # ---- switches (what tests call) ---------------------------------------------------------

    def inject_http_error(
        self,
        status: int,
        reason: str,
        message: str | None = None,
        *,
        times: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """The next ``times`` matching requests fail with this HTTP error."""
        text = message or f"injected {reason}"
        with self.lock:
            self.http_faults.append(HttpFault(status, reason, text, times, method, path_contains))

    def exhaust_zone(self, zone: str, code: str = "ZONE_RESOURCE_POOL_EXHAUSTED") -> None:
        """Inserts in ``zone`` are accepted, then their operation fails with ``code``."""
        msg = (
            f"The zone 'projects/{self.project}/zones/{zone}' does not have enough resources "
            "available to fulfill the request.  Try a different zone, or try again later."
        )
        self.op_faults[zone] = (code, msg)

    def fail_operations(self, zone: str, code: str, message: str) -> None:
        """Inserts in ``zone`` end in an operation error with this code (e.g. QUOTA_EXCEEDED)."""
        self.op_faults[zone] = (code, message)

    def set_quota(self, region: str, metric: str, limit: float) -> None:
        self.quotas.setdefault(region, dict(catalog.DEFAULT_QUOTAS))[metric] = limit

    def preempt(self, name: str) -> None:
        """A spot preemption: TERMINATED (or deleted, per instanceTerminationAction)."""
        with self.lock:
            key, inst = self._find_by_name(name)
            action = inst.get("scheduling", {}).get("instanceTerminationAction", "STOP")
            if action == "DELETE":
                del self.instances[key]
                return
            self._stopped(inst)
            inst["statusMessage"] = "Instance was preempted."

    def instance(self, name: str) -> JSON | None:
        with self.lock:
            return next((i for (_, n), i in self.instances.items() if n == name), None)

    def received(self, method: str, path_suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    # ---- helpers ---------------------------------------------------------------------------

    def url(self, *parts: str) -> str:
        return "/".join([f"{self.base_url}/compute/v1/projects/{self.project}", *parts])

    def new_id(self) -> str:
        return str(next(self._ids))

    def take_fault(self, method: str, path: str) -> ApiError | None:
        with self.lock:
            for fault in self.http_faults:
                if fault.times <= 0:
                    continue
                if fault.method and fault.method != method:
                    continue
                if fault.path_contains and fault.path_contains not in path:
                    continue
                fault.times -= 1
                return ApiError(fault.status, fault.reason, fault.message)
        return None

    def region_quotas(self, region: str) -> dict[str, float]:
        return self.quotas.setdefault(region, dict(catalog.DEFAULT_QUOTAS))

    def usage(self, region: str | None) -> dict[str, float]:
        """Quota usage by live (not TERMINATED) instances, in one region or everywhere."""
        used: dict[str, float] = {}
        for (zone, _), inst in self.instances.items():
            if inst["status"] == "TERMINATED" or (region and catalog.region_of(zone) != region):
                continue
            for metric, amount in self.consumes(zone, inst):
                used[metric] = used.get(metric, 0.0) + amount
        return used

    def consumes(self, zone: str, body: JSON) -> list[tuple[str, float]]:
        shape = self.shape(zone, _tail(body.get("machineType", "")))
        spot = body.get("scheduling", {}).get("provisioningModel") == "SPOT"
        prefix = "PREEMPTIBLE_" if spot else ""
        out = [(prefix + "CPUS", float(shape.vcpus if shape else 0)), ("INSTANCES", 1.0)]
        gpus = [(shape.gpu, shape.gpu_count)] if shape and shape.gpu else []
        gpus += [
            (_tail(a["acceleratorType"]), a.get("acceleratorCount", 1))
            for a in body.get("guestAccelerators", [])
        ]
        for gpu, count in gpus:
            out.append((prefix + catalog.GPU_METRIC[gpu], float(count)))
            out.append(("GPUS_ALL_REGIONS", float(count)))
        return out

    def shape(self, zone: str, name: str) -> catalog.MachineShape | None:
        return next((m for m in catalog.machines_in(zone) if m.name == name), None)

    def _find_by_name(self, name: str) -> tuple[tuple[str, str], JSON]:
        for key, inst in self.instances.items():
            if key[1] == name:
                return key, inst
        raise KeyError(name)

    # ---- operations ------------------------------------------------------------------------

    def new_op(
        self,
        kind: str,
        target: str,
        *,
        zone: str | None,
        on_done: Callable[[], None] | None,
        error: tuple[str, str, int] | None = None,
        request_id: str | None = None,
    ) -> JSON:
        name = f"operation-{int(time.time() * 1000)}-{secrets.token_hex(6)}"
        scope = ("zones", zone) if zone else ("global",)
        res: JSON = {
            "kind": "compute#operation",
            "id": self.new_id(),
            "name": name,
            "operationType": kind,
            "targetLink": target,
            "targetId": self.new_id(),
            "status": "RUNNING",
            "user": "styx-test@styx-proj.iam.gserviceaccount.com",
            "progress": 0,
            "insertTime": _now(),
            "startTime": _now(),
            "selfLink": self.url(*scope, "operations", name),
        }
        if zone:
            res["zone"] = self.url("zones", zone)
        op = _Op(res, self.polls_to_done, on_done, error)
        self.operations[name] = op
        if request_id:
            self.request_ids[request_id] = name
        return dict(res)

    def poll_op(self, name: str, zone: str | None) -> JSON:
        """One poll at a scope: a zonal operation exists only under its own zone, a global one
        only under global/ (zoneOperations.get / globalOperations.get answer 404 otherwise)."""
        with self.lock:
            op = self.operations.get(name)
            if op is not None and op.resource.get("zone") != (
                self.url("zones", zone) if zone else None
            ):
                op = None
            if op is None:
                raise ApiError(404, "notFound", f"The resource 'operations/{name}' was not found")
            if op.resource["status"] != "DONE":
                op.polls_left -= 1
                if op.polls_left <= 0:
                    self._finish(op)
            return dict(op.resource)

    def _finish(self, op: _Op) -> None:
        op.resource.update(status="DONE", progress=100, endTime=_now())
        if op.error:
            code, message, http = op.error
            op.resource["error"] = {"errors": [{"code": code, "message": message}]}
            op.resource["httpErrorStatusCode"] = http
            op.resource["httpErrorMessage"] = "SERVICE UNAVAILABLE" if http == 503 else "FORBIDDEN"
        elif op.on_done:
            op.on_done()

    # ---- instances -------------------------------------------------------------------------

    def insert_instance(self, zone: str, body: JSON, request_id: str | None) -> JSON:
        with self.lock:
            validate.request_id(request_id)
            if request_id and request_id in self.request_ids:
                return dict(self.operations[self.request_ids[request_id]].resource)
            self._validate_insert(zone, body)
            name = body["name"]
            target = self.url("zones", zone, "instances", name)
            fault = self.op_faults.get(zone)
            if fault:  # accepted, then the operation fails; no instance is left behind
                http = 503 if "RESOURCE_POOL" in fault[0] else 403
                return self.new_op(
                    "insert",
                    target,
                    zone=zone,
                    on_done=None,
                    error=(fault[0], fault[1], http),
                    request_id=request_id,
                )
            self._check_quota(zone, body)
            self.instances[(zone, name)] = self._new_instance(zone, body)
            return self.new_op("insert", target, zone=zone, on_done=None, request_id=request_id)

    def _validate_insert(self, zone: str, body: JSON) -> None:
        """What instances.insert rejects, in GCE's words. Sources:
        https://cloud.google.com/compute/docs/reference/rest/v1/instances/insert (required
        disks with one boot disk, networkInterfaces), and the rules checked in validate.py."""
        validate.instance_body(body)
        name = body.get("name", "")
        if not NAME_RE.match(name):
            raise ApiError(400, "invalid", f"Invalid value for field 'resource.name': '{name}'.")
        if (zone, name) in self.instances:
            raise ApiError(
                409,
                "alreadyExists",
                f"The resource 'projects/{self.project}/zones/{zone}/instances/{name}' already "
                "exists",
            )
        mt = _tail(body.get("machineType", ""))
        shape = self.shape(zone, mt)
        if shape is None:
            raise ApiError(
                400,
                "invalid",
                f"Invalid value for field 'resource.machineType': '{body.get('machineType')}'. "
                f"Machine type with name '{mt}' does not exist in zone '{zone}'.",
            )
        for disk in body.get("disks", []):
            image = disk.get("initializeParams", {}).get("sourceImage")
            if image and image not in catalog.IMAGES:
                raise ApiError(404, "notFound", f"The resource '{image}' was not found")
        accs = body.get("guestAccelerators", [])
        for acc in accs:
            acc_name = _tail(acc.get("acceleratorType", ""))
            if acc_name not in catalog.accelerators_in(zone) or not mt.startswith("n1-"):
                raise ApiError(
                    400,
                    "invalid",
                    f"Invalid value for field 'resource.guestAccelerators[0].acceleratorType': "
                    f"'{acc.get('acceleratorType')}'. Accelerator type '{acc_name}' is not "
                    f"available for machine type '{mt}' in zone '{zone}'.",
                )
            if acc.get("acceleratorCount", 1) > catalog.ACCELERATORS[acc_name][1]:
                raise ApiError(400, "invalid", f"Too many accelerators of type '{acc_name}'.")
        sched = body.get("scheduling", {})
        if (accs or shape.gpu) and sched.get("onHostMaintenance") != "TERMINATE":
            raise ApiError(
                400,
                "invalid",
                "Instances with guest accelerators do not support live migration.",
            )

    def _check_quota(self, zone: str, body: JSON) -> None:
        region = catalog.region_of(zone)
        limits = self.region_quotas(region)
        used_region, used_all = self.usage(region), self.usage(None)
        for metric, amount in self.consumes(zone, body):
            if metric == "GPUS_ALL_REGIONS":
                if used_all.get(metric, 0.0) + amount > self.gpus_all_regions:
                    raise ApiError(
                        403,
                        "quotaExceeded",
                        f"Quota 'GPUS_ALL_REGIONS' exceeded.  Limit: {self.gpus_all_regions} "
                        "globally.",
                    )
                continue
            limit = limits.get(metric)
            if limit is not None and used_region.get(metric, 0.0) + amount > limit:
                raise ApiError(
                    403,
                    "quotaExceeded",
                    f"Quota '{metric}' exceeded.  Limit: {limit} in region {region}.",
                )

    def _new_instance(self, zone: str, body: JSON) -> JSON:
        inst = dict(body)
        n = next(self._ips)
        inst.update(
            kind="compute#instance",
            id=self.new_id(),
            creationTimestamp=_now(),
            status="PROVISIONING",
            zone=self.url("zones", zone),
            machineType=self.url("zones", zone, "machineTypes", _tail(body["machineType"])),
            selfLink=self.url("zones", zone, "instances", body["name"]),
            cpuPlatform="Intel Cascade Lake",
            labelFingerprint=secrets.token_hex(6),
        )
        nics = []
        for i, nic in enumerate(body.get("networkInterfaces", [])):
            nic = dict(nic, name=f"nic{i}", networkIP=f"10.128.{n // 250}.{n % 250 + 2}")
            nic["accessConfigs"] = [
                dict(ac, kind="compute#accessConfig", networkTier="PREMIUM")
                for ac in nic.get("accessConfigs", [])
            ]
            nics.append(nic)
        inst["networkInterfaces"] = nics
        inst["guestAccelerators"] = [
            dict(
                a,
                acceleratorType=self.url(
                    "zones", zone, "acceleratorTypes", _tail(a["acceleratorType"])
                ),
            )
            for a in body.get("guestAccelerators", [])
        ]
        return inst

    def read_instance(self, inst: JSON) -> JSON:
        """One read: a booting instance moves one step on (PROVISIONING -> STAGING -> RUNNING)."""
        step = {"PROVISIONING": "STAGING", "STAGING": "RUNNING"}
        if inst["status"] in step:
            inst["status"] = step[inst["status"]]
            if inst["status"] == "STAGING":
                self._assign_nat(inst)
            else:
                inst["lastStartTimestamp"] = _now()
        return inst

    def _assign_nat(self, inst: JSON) -> None:
        n = int(inst["id"]) % 200 + 10
        for nic in inst["networkInterfaces"]:
            for ac in nic.get("accessConfigs", []):
                ac["natIP"] = f"34.118.{n}.{(n * 7) % 250 + 1}"  # never contacted by tests

    def _stopped(self, inst: JSON) -> None:
        inst["status"] = "TERMINATED"
        inst["lastStopTimestamp"] = _now()
        for nic in inst["networkInterfaces"]:  # ephemeral external IPs go away on stop
            for ac in nic.get("accessConfigs", []):
                ac.pop("natIP", None)

    def get_instance(self, zone: str, name: str) -> JSON:
        with self.lock:
            inst = self.instances.get((zone, name))
            if inst is None:
                raise ApiError(
                    404,
                    "notFound",
                    f"The resource 'projects/{self.project}/zones/{zone}/instances/{name}' "
                    "was not found",
                )
            return self.read_instance(inst)

    def instance_action(self, zone: str, name: str, verb: str) -> JSON:
        with self.lock:
            inst = self.get_instance(zone, name)
            target = inst["selfLink"]
            if verb == "delete":
                inst["status"] = "STOPPING"
                done: Callable[[], None] = lambda: self.instances.pop((zone, name), None)  # noqa: E731
            elif verb == "stop":
                if inst["status"] != "TERMINATED":
                    inst["status"] = "STOPPING"
                done = lambda: self._stopped(inst)  # noqa: E731
            else:
                if inst["status"] == "TERMINATED":
                    inst["status"] = "PROVISIONING"
                    inst.pop("statusMessage", None)
                done = None  # type: ignore[assignment]
            return self.new_op(verb, target, zone=zone, on_done=done)

    def list_instances(self, zone: str | None, filter_: str | None) -> list[JSON]:
        with self.lock:
            match = compile_filter(filter_)
            return [
                self.read_instance(inst)
                for (z, _), inst in sorted(self.instances.items())
                if (zone is None or z == zone) and match(inst)
            ]

    # ---- firewalls -------------------------------------------------------------------------

    def insert_firewall(self, body: JSON) -> JSON:
        with self.lock:
            name = body.get("name", "")
            if not NAME_RE.match(name):
                raise ApiError(400, "invalid", f"Invalid value for 'resource.name': '{name}'.")
            if name in self.firewalls:
                raise ApiError(
                    409,
                    "alreadyExists",
                    f"The resource 'projects/{self.project}/global/firewalls/{name}' already "
                    "exists",
                )
            link = self.url("global", "firewalls", name)
            fw = dict(
                body,
                kind="compute#firewall",
                id=self.new_id(),
                selfLink=link,
                creationTimestamp=_now(),
                priority=body.get("priority", 1000),
            )
            self.firewalls[name] = fw
            return self.new_op("insert", link, zone=None, on_done=None)

    def get_firewall(self, name: str) -> JSON:
        with self.lock:
            if name not in self.firewalls:
                raise ApiError(
                    404,
                    "notFound",
                    f"The resource 'projects/{self.project}/global/firewalls/{name}' was not found",
                )
            return self.firewalls[name]

    def patch_firewall(self, name: str, body: JSON) -> JSON:
        with self.lock:
            fw = self.get_firewall(name)
            fw.update({k: v for k, v in body.items() if k != "name"})
            return self.new_op("patch", fw["selfLink"], zone=None, on_done=None)

    def delete_firewall(self, name: str) -> JSON:
        with self.lock:
            fw = self.get_firewall(name)
            return self.new_op(
                "delete", fw["selfLink"], zone=None, on_done=lambda: self.firewalls.pop(name, None)
            )


_TERM = re.compile(r'\(?\s*labels\.([a-z0-9_-]+)\s*(=|!=|:|eq)\s*"?([^")\s]*)"?\s*\)?')


def compile_filter(filter_: str | None) -> Callable[[JSON], bool]:
    """GCE list filters as Styx uses them: ``labels.k=v``, ``labels.k:*``, joined by AND."""
    if not filter_:
        return lambda _: True
    parts = [p for p in re.split(r"\s+AND\s+|\)\s+\(", filter_.strip()) if p.strip()]
    terms = []
    for part in parts:
        m = _TERM.fullmatch(part.strip())
        if m is None:
            raise ApiError(400, "invalid", f"Invalid value for field 'filter': '{filter_}'.")
        terms.append(m.groups())

    def match(inst: JSON) -> bool:
        labels = inst.get("labels", {})
        for key, op, value in terms:
            have = labels.get(key)
            if op == ":" and value == "*":
                ok = have is not None
            elif op == "!=":
                ok = have != value
            else:
                ok = have == value
            if not ok:
                return False
        return True

    return match
