"""A wire-level fake of Azure Resource Manager over HTTPS on 127.0.0.1 (see README.md here).

azure-core refuses to send a bearer token over plain HTTP, so the fake serves TLS with a
self-signed certificate made at start-up; clients trust it through ``connection_verify``.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.azure import apiversions, vms
from tests.fakes.azure import handlers as h
from tests.fakes.azure.state import ArmError, FakeArm, Request
from tests.fakes.tls import make_server_tls

SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = SUB + r"/resourcegroups/(?P<rg>[^/]+)"
RES = RG + r"/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)"
COMPUTE_LOC = SUB + r"/providers/microsoft\.compute/locations/(?P<loc>[^/]+)"

# (method, path regex) -> handler(arm, match, query, body). Matched case-insensitively, as ARM does.
Route = tuple[str, str, object]
ROUTES: list[Route] = [
    ("GET", SUB, lambda a, m, q, b: h.subscription(a)),
    ("GET", SUB + r"/locations", lambda a, m, q, b: h.locations(a)),
    ("GET", SUB + r"/resourcegroups", lambda a, m, q, b: h.list_groups(a, q)),
    ("PUT", RG, lambda a, m, q, b: h.put_group(a, m["rg"], b)),
    ("GET", RG, lambda a, m, q, b: h.get_group(a, m["rg"])),
    ("DELETE", RG, lambda a, m, q, b: h.delete_group(a, m["rg"])),
    ("GET", RG + r"/resources", lambda a, m, q, b: h.list_group_resources(a, m["rg"], q)),
    ("GET", COMPUTE_LOC + r"/vmsizes", lambda a, m, q, b: h.vm_sizes(a, m["loc"])),
    ("GET", COMPUTE_LOC + r"/usages", lambda a, m, q, b: h.usages(a, m["loc"])),
    (
        "GET",
        COMPUTE_LOC + r"/operations/(?P<op>[^/]+)",
        lambda a, m, q, b: h.operation_status(a, m["op"]),
    ),
    (
        "GET",
        COMPUTE_LOC + r"/operationresults/(?P<op>[^/]+)",
        lambda a, m, q, b: h.operation_result(a, m["op"]),
    ),
    ("GET", SUB + r"/providers/microsoft\.compute/skus", lambda a, m, q, b: h.skus(a, q)),
    (
        "GET",
        SUB + r"/providers/microsoft\.compute/virtualmachines",
        lambda a, m, q, b: vms.list_vms(a, None, q),
    ),
    (
        "GET",
        RG + r"/providers/microsoft\.compute/virtualmachines",
        lambda a, m, q, b: vms.list_vms(a, m["rg"], q),
    ),
    (
        "PUT",
        RG + r"/providers/microsoft\.compute/virtualmachines/(?P<name>[^/]+)",
        lambda a, m, q, b: vms.put_vm(a, m["rg"], m["name"], b),
    ),
    (
        "GET",
        RG + r"/providers/microsoft\.compute/virtualmachines/(?P<name>[^/]+)",
        lambda a, m, q, b: vms.get_vm(a, m["rg"], m["name"], q),
    ),
    (
        "DELETE",
        RG + r"/providers/microsoft\.compute/virtualmachines/(?P<name>[^/]+)",
        lambda a, m, q, b: vms.delete_vm(a, m["rg"], m["name"]),
    ),
    (
        "GET",
        RG + r"/providers/microsoft\.compute/virtualmachines/(?P<name>[^/]+)/instanceview",
        lambda a, m, q, b: vms.get_instance_view(a, m["rg"], m["name"]),
    ),
    (
        "POST",
        RG + r"/providers/microsoft\.compute/virtualmachines/(?P<name>[^/]+)/(?P<act>[^/]+)",
        lambda a, m, q, b: vms.vm_action(a, m["rg"], m["name"], m["act"].lower()),
    ),
    (
        "GET",
        RG
        + r"/providers/microsoft\.network/virtualnetworks/(?P<vnet>[^/]+)/subnets/(?P<name>[^/]+)",
        lambda a, m, q, b: h.get_subnet(a, m["rg"], m["vnet"], m["name"]),
    ),
    (
        "GET",
        RES,
        lambda a, m, q, b: h.list_generic(a, m["rg"], h.canonical_type(m["ns"], m["type"])),
    ),
    (
        "PUT",
        RES + r"/(?P<name>[^/]+)",
        lambda a, m, q, b: h.put_generic(
            a, m["rg"], h.canonical_type(m["ns"], m["type"]), m["name"], b
        ),
    ),
    (
        "GET",
        RES + r"/(?P<name>[^/]+)",
        lambda a, m, q, b: h.get_generic(
            a, m["rg"], h.canonical_type(m["ns"], m["type"]), m["name"]
        ),
    ),
    (
        "DELETE",
        RES + r"/(?P<name>[^/]+)",
        lambda a, m, q, b: h.delete_generic(
            a, m["rg"], h.canonical_type(m["ns"], m["type"]), m["name"]
        ),
    ),
]
COMPILED = [(meth, re.compile(pat + r"/?$", re.IGNORECASE), fn) for meth, pat, fn in ROUTES]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        arm = self.server.arm
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with arm.lock:
            arm.requests.append(Request(self.command, url.path, query, body))
        try:
            arm.check_faults(
                self.command, url.path, {k.lower(): v for k, v in self.headers.items()}
            )
            apiversions.check(url.path, query.get("api-version"))
            reply = self._route(arm, url.path, query, body)
        except ArmError as err:
            headers = {"Retry-After": "0"} if err.status == 429 else {}
            reply = h.Reply(err.status, err.body(), headers)
        except Exception as exc:  # noqa: BLE001 - a fake bug must show up as a 500, not a hang
            reply = h.Reply(500, {"error": {"code": "FakeServerBug", "message": repr(exc)}})
        self._send(reply)

    def _route(self, arm: FakeArm, path: str, query: dict[str, str], body: object) -> h.Reply:
        for method, pattern, fn in COMPILED:
            m = pattern.match(path)
            if m and method == self.command:
                if m.groupdict().get("sub") not in (None, arm.subscription):
                    raise ArmError(
                        404,
                        "SubscriptionNotFound",
                        f"The subscription '{m['sub']}' could not be found.",
                    )
                return fn(arm, m, query, body)  # type: ignore[operator]
        raise ArmError(404, "NoRouteFound", f"{self.command} {path} is not served by the fake")

    def _send(self, reply: h.Reply) -> None:
        data = json.dumps(reply.body).encode() if reply.body is not None else b""
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", "fake")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    arm: FakeArm


class FakeArmServer:
    """Runs :class:`FakeArm` on https://127.0.0.1:<free port> in a background thread."""

    def __init__(self, arm: FakeArm, cert_dir: Path) -> None:
        self.arm = arm
        self.tls = make_server_tls(cert_dir, "styx-fake-arm")
        self.ca_path = self.tls.ca_path  # what clients trust (``azure.ca_bundle``)
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.arm = arm
        self._httpd.socket = self.tls.server_context().wrap_socket(
            self._httpd.socket, server_side=True
        )
        self.port = self._httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        arm.base_url = self.url
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> FakeArmServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
