"""The fake Compute Engine REST server: GCE's URL paths over stdlib HTTP on 127.0.0.1.

Start with :func:`start_fake_gce` (free port, daemon thread); point google-cloud-compute at
``fake.base_url`` with the service-account key ``fake.credentials_file`` (every call must carry
a token the fake can verify, see auth.py). The implemented paths are listed in README.md.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.gcp import catalog
from tests.fakes.gcp.auth import FakeAccounts
from tests.fakes.gcp.backend import JSON, ApiError, FakeGCE, Recorded

TOKEN_PATH = "/token"  # the OAuth endpoint the fake's key files name as token_uri
PREFIX = re.compile(r"^/compute/v1/projects/([^/]+)/(.*)$")


class Router:
    """Maps (method, path under the project) to the backend."""

    def __init__(self, fake: FakeGCE) -> None:
        self.fake = fake

    def handle(self, method: str, path: str, query: dict[str, str], body: JSON | None) -> JSON:
        f = self.fake
        m = PREFIX.match(path)
        if m is None:
            raise ApiError(404, "notFound", f"no such path {path}")
        if m.group(1) != f.project:
            raise ApiError(404, "notFound", f"The resource 'projects/{m.group(1)}' was not found")
        parts = m.group(2).strip("/").split("/")
        # Collections and names alternate; "global/x" and "aggregated/x" are two literals.
        lead = 2 if parts[0] in ("global", "aggregated") else 1
        is_name = [i >= lead and (i - lead) % 2 == 0 for i in range(len(parts))]
        route = (method, *["*" if n else p for p, n in zip(parts, is_name, strict=True)])
        handler = ROUTES.get(route)
        if handler is None:
            raise ApiError(404, "notFound", f"no handler for {method} {path}")
        args = [p for p, n in zip(parts, is_name, strict=True) if n]
        return handler(self, *args, query=query, body=body or {})

    # ---- catalog -----------------------------------------------------------------------

    def _check_zone(self, zone: str) -> None:
        if zone not in catalog.all_zones():
            raise ApiError(404, "notFound", f"The resource 'zones/{zone}' was not found")

    def region(self, name: str) -> JSON:
        f = self.fake
        if name not in catalog.ZONES:
            raise ApiError(404, "notFound", f"The resource 'regions/{name}' was not found")
        with f.lock:
            limits, used = f.region_quotas(name), f.usage(name)
            quotas = [
                {"metric": k, "limit": v, "usage": used.get(k, 0.0)}
                for k, v in sorted(limits.items())
            ]
        return {
            "kind": "compute#region",
            "id": str(1000 + sorted(catalog.ZONES).index(name)),
            "name": name,
            "status": "UP",
            "selfLink": f.url("regions", name),
            "zones": [f.url("zones", z) for z in sorted(catalog.ZONES[name])],
            "quotas": quotas,
        }

    def zone(self, name: str) -> JSON:
        self._check_zone(name)
        f = self.fake
        return {
            "kind": "compute#zone",
            "id": str(2000 + catalog.all_zones().index(name)),
            "name": name,
            "status": "UP",
            "region": f.url("regions", catalog.region_of(name)),
            "selfLink": f.url("zones", name),
            "availableCpuPlatforms": ["Intel Cascade Lake"],
        }

    def machine_type(self, zone: str, shape: catalog.MachineShape) -> JSON:
        mt: JSON = {
            "kind": "compute#machineType",
            "id": str(3000 + catalog.MACHINES.index(shape)),
            "name": shape.name,
            "description": f"{shape.vcpus} vCPUs",
            "zone": zone,
            "guestCpus": shape.vcpus,
            "memoryMb": shape.memory_mb,
            "isSharedCpu": False,
            "maximumPersistentDisks": 128,
            "maximumPersistentDisksSizeGb": "263168",
            "selfLink": self.fake.url("zones", zone, "machineTypes", shape.name),
        }
        if shape.gpu:
            mt["accelerators"] = [
                {"guestAcceleratorType": shape.gpu, "guestAcceleratorCount": shape.gpu_count}
            ]
        return mt

    def accelerator(self, zone: str, name: str) -> JSON:
        desc, max_cards = catalog.ACCELERATORS[name]
        return {
            "kind": "compute#acceleratorType",
            "id": str(4000 + list(catalog.ACCELERATORS).index(name)),
            "name": name,
            "description": desc,
            "maximumCardsPerInstance": max_cards,
            "zone": self.fake.url("zones", zone),
            "selfLink": self.fake.url("zones", zone, "acceleratorTypes", name),
        }

    def r_regions(self, *, query: dict[str, str], body: JSON) -> JSON:
        return page("compute#regionList", [self.region(r) for r in sorted(catalog.ZONES)], query)

    def r_region(self, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        return self.region(name)

    def r_zones(self, *, query: dict[str, str], body: JSON) -> JSON:
        return page("compute#zoneList", [self.zone(z) for z in catalog.all_zones()], query)

    def r_zone(self, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        return self.zone(name)

    def r_machine_types(self, zone: str, *, query: dict[str, str], body: JSON) -> JSON:
        self._check_zone(zone)
        items = [self.machine_type(zone, s) for s in catalog.machines_in(zone)]
        return page("compute#machineTypeList", items, query)

    def r_machine_type(self, zone: str, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        self._check_zone(zone)
        shape = self.fake.shape(zone, name)
        if shape is None:
            raise ApiError(
                404,
                "notFound",
                f"The resource 'projects/{self.fake.project}/zones/{zone}/machineTypes/{name}' "
                "was not found",
            )
        return self.machine_type(zone, shape)

    def r_agg_machine_types(self, *, query: dict[str, str], body: JSON) -> JSON:
        items = {
            f"zones/{z}": {
                "machineTypes": [self.machine_type(z, s) for s in catalog.machines_in(z)]
            }
            for z in catalog.all_zones()
        }
        return {"kind": "compute#machineTypeAggregatedList", "items": items}

    def r_agg_accelerators(self, *, query: dict[str, str], body: JSON) -> JSON:
        items = {
            f"zones/{z}": {
                "acceleratorTypes": [self.accelerator(z, a) for a in catalog.accelerators_in(z)]
            }
            for z in catalog.all_zones()
        }
        return {"kind": "compute#acceleratorTypeAggregatedList", "items": items}

    def r_accelerators(self, zone: str, *, query: dict[str, str], body: JSON) -> JSON:
        self._check_zone(zone)
        items = [self.accelerator(zone, a) for a in catalog.accelerators_in(zone)]
        return page("compute#acceleratorTypeList", items, query)

    # ---- instances ---------------------------------------------------------------------

    def r_insert(self, zone: str, *, query: dict[str, str], body: JSON) -> JSON:
        self._check_zone(zone)
        return self.fake.insert_instance(zone, body, query.get("requestId"))

    def r_list(self, zone: str, *, query: dict[str, str], body: JSON) -> JSON:
        self._check_zone(zone)
        items = self.fake.list_instances(zone, query.get("filter"))
        return page("compute#instanceList", items, query)

    def r_agg_list(self, *, query: dict[str, str], body: JSON) -> JSON:
        found = self.fake.list_instances(None, query.get("filter"))
        items: JSON = {}
        for z in catalog.all_zones():
            mine = [i for i in found if i["zone"].endswith(f"/zones/{z}")]
            items[f"zones/{z}"] = (
                {"instances": mine}
                if mine
                else {
                    "warning": {
                        "code": "NO_RESULTS_ON_PAGE",
                        "message": "There are no results for scope 'zones/" + z + "' on this page.",
                        "data": [{"key": "scope", "value": f"zones/{z}"}],
                    }
                }
            )
        return {
            "kind": "compute#instanceAggregatedList",
            "id": "projects/" + self.fake.project,
            "items": items,
            "selfLink": self.fake.url("aggregated", "instances"),
        }

    def r_get(self, zone: str, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        self._check_zone(zone)
        return self.fake.get_instance(zone, name)

    def r_delete(self, zone: str, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        return self.fake.instance_action(zone, name, "delete")

    def r_stop(self, zone: str, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        return self.fake.instance_action(zone, name, "stop")

    def r_start(self, zone: str, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        return self.fake.instance_action(zone, name, "start")

    # ---- operations and firewalls ------------------------------------------------------

    def r_zone_op(self, zone: str, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        return self.fake.poll_op(name, zone)

    def r_zone_op_wait(self, zone: str, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        time.sleep(0.005)  # GCE holds wait requests; a token delay keeps the shape
        return self.fake.poll_op(name, zone)

    def r_global_op(self, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        return self.fake.poll_op(name, None)

    def r_global_op_wait(self, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        time.sleep(0.005)
        return self.fake.poll_op(name, None)

    def r_fw_insert(self, *, query: dict[str, str], body: JSON) -> JSON:
        return self.fake.insert_firewall(body)

    def r_fw_get(self, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        return self.fake.get_firewall(name)

    def r_fw_patch(self, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        return self.fake.patch_firewall(name, body)

    def r_fw_delete(self, name: str, *, query: dict[str, str], body: JSON) -> JSON:
        return self.fake.delete_firewall(name)


def page(kind: str, items: list[JSON], query: dict[str, str]) -> JSON:
    """maxResults / pageToken paging as GCE does it (the token is opaque to clients)."""
    start = int(query.get("pageToken") or 0)
    size = int(query.get("maxResults") or 500)
    out: JSON = {"kind": kind, "items": items[start : start + size]}
    if start + size < len(items):
        out["nextPageToken"] = str(start + size)
    return out


R = Router
ROUTES: dict[tuple[str, ...], Any] = {
    ("GET", "regions"): R.r_regions,
    ("GET", "regions", "*"): R.r_region,
    ("GET", "zones"): R.r_zones,
    ("GET", "zones", "*"): R.r_zone,
    ("GET", "zones", "*", "machineTypes"): R.r_machine_types,
    ("GET", "zones", "*", "machineTypes", "*"): R.r_machine_type,
    ("GET", "aggregated", "machineTypes"): R.r_agg_machine_types,
    ("GET", "zones", "*", "acceleratorTypes"): R.r_accelerators,
    ("GET", "aggregated", "acceleratorTypes"): R.r_agg_accelerators,
    ("POST", "zones", "*", "instances"): R.r_insert,
    ("GET", "zones", "*", "instances"): R.r_list,
    ("GET", "aggregated", "instances"): R.r_agg_list,
    ("GET", "zones", "*", "instances", "*"): R.r_get,
    ("DELETE", "zones", "*", "instances", "*"): R.r_delete,
    ("POST", "zones", "*", "instances", "*", "stop"): R.r_stop,
    ("POST", "zones", "*", "instances", "*", "start"): R.r_start,
    ("GET", "zones", "*", "operations", "*"): R.r_zone_op,
    ("POST", "zones", "*", "operations", "*", "wait"): R.r_zone_op_wait,
    ("GET", "global", "operations", "*"): R.r_global_op,
    ("POST", "global", "operations", "*", "wait"): R.r_global_op_wait,
    ("POST", "global", "firewalls"): R.r_fw_insert,
    ("GET", "global", "firewalls", "*"): R.r_fw_get,
    ("PATCH", "global", "firewalls", "*"): R.r_fw_patch,
    ("DELETE", "global", "firewalls", "*"): R.r_fw_delete,
}


class _Handler(BaseHTTPRequestHandler):
    router: Router
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake = self.router.fake
        if split.path == TOKEN_PATH and self.command == "POST":
            status, payload = fake.accounts.grant(dict(parse_qsl(raw.decode())))
            return self._reply(status, payload)
        body = json.loads(raw) if raw else None
        authorization = self.headers.get("Authorization")
        with fake.lock:
            fake.requests.append(Recorded(self.command, split.path, query, body, authorization))
        try:
            fake.accounts.check(authorization)  # before anything else, as the real API does
            fault = fake.take_fault(self.command, split.path)
            if fault is not None:
                raise fault
            status, payload = 200, self.router.handle(self.command, split.path, query, body)
        except ApiError as exc:
            status, payload = exc.status, exc.body()
        self._reply(status, payload)

    def _reply(self, status: int, payload: JSON) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _serve


@contextmanager
def start_fake_gce(project: str = "styx-proj", polls_to_done: int = 2) -> Iterator[FakeGCE]:
    """Serve a fresh fake on a free 127.0.0.1 port for the duration of the block."""
    fake = FakeGCE(project=project, polls_to_done=polls_to_done)
    handler = type("Handler", (_Handler,), {"router": Router(fake)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    fake.accounts = FakeAccounts(token_uri=fake.base_url + TOKEN_PATH)
    keys = tempfile.TemporaryDirectory(prefix="styx-fake-gce-")
    fake.credentials_file = fake.accounts.key_file(Path(keys.name) / "sa.json", project)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.02,), name="fake-gce", daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        keys.cleanup()
