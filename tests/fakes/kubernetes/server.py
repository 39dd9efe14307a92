"""A fake Kubernetes API server on 127.0.0.1 that the official ``kubernetes`` client talks to.

Runs an aiohttp app on its own event loop in a background thread (exec needs websockets), over
HTTPS with its own CA: kubeconfigs carry that CA as certificate-authority-data and each pod's
service-account folder holds it as ca.crt, as on a real cluster.
The implemented paths are listed in README.md next to this file. Fault switches act where a
real API server would answer: ``auth_fail`` (401), ``quota_exceeded`` (403 "exceeded quota" on
pod create), ``fail_next(status, count)`` (429/500/... for the next calls).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiohttp import WSMsgType, web

from tests.fakes.kubernetes.cluster import ApiError, FakeCluster, FakeNode, default_nodes
from tests.fakes.kubernetes.procs import POD_UID_ENV, kill_pod_processes
from tests.fakes.kubernetes.rbac import RBAC, FakeRbac, parse_sa_token
from tests.fakes.kubernetes.selectors import field_matcher, label_matcher
from tests.fakes.tls import make_server_tls

T = TypeVar("T")
TOKEN = "styx-fake-token"
V4 = "v4.channel.k8s.io"
POD = "/api/v1/namespaces/{ns}/pods/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


@dataclass
class Fault:
    status: int
    remaining: int
    message: str
    method: str | None = None


class FakeKubeServer:
    """Start with ``start()`` (or as a context manager); ``url`` then points at it."""

    def __init__(self, nodes: list[FakeNode] | None = None, start_delay_s: float = 0.05) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="styx-fake-k8s-")
        self.tls = make_server_tls(Path(self._tmp.name) / "_tls", "styx-fake-kube-apiserver")
        self.cluster = FakeCluster(nodes or default_nodes(), Path(self._tmp.name), start_delay_s)
        self.rbac = FakeRbac(Path(self._tmp.name), self.tls.ca_path)
        self.port = 0
        self.auth_fail = False
        self.quota_exceeded = False
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) seen, for assertions
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> FakeKubeServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start_site())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="fake-k8s", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Kubernetes server did not start")
        return self

    async def _start_site(self) -> None:
        self._runner = web.AppRunner(self._app(), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.tls.server_context())
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop
        self._closing = True

        async def shutdown() -> None:
            assert self._runner is not None
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        for pod in list(self.cluster.pods.values()):  # leave no pod's processes behind
            kill_pod_processes(pod["metadata"]["uid"])
        loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(10)
        loop.close()
        self._loop = None
        self._tmp.cleanup()

    def __enter__(self) -> FakeKubeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop (where the state lives) and return its result."""
        assert self._loop is not None

        async def wrapper() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(10)

    # ---- test helpers ------------------------------------------------------------------------

    def fail_next(
        self, status: int, count: int = 1, message: str = "", method: str | None = None
    ) -> None:
        """Answer the next ``count`` API calls (of ``method`` if given) with ``status``."""
        self.faults.append(Fault(status, count, message or f"injected {status}", method))

    def pod_names(self, namespace: str = "default") -> list[str]:
        """Every pod the API still shows, Terminating ones included."""
        return self.call(lambda: sorted(n for ns, n in self.cluster.pods if ns == namespace))

    def wait_pods_gone(self, namespace: str = "default", timeout_s: float = 30.0) -> None:
        """Until every pod of ``namespace`` has finished terminating (or fail)."""
        deadline = time.monotonic() + timeout_s
        while self.pod_names(namespace):
            if time.monotonic() > deadline:
                raise AssertionError(f"pods still terminating: {self.pod_names(namespace)}")
            time.sleep(0.05)

    def undeleted_pod_names(self, namespace: str = "default") -> list[str]:
        """Pods nobody has asked to delete (no deletionTimestamp)."""
        return self.call(
            lambda: sorted(
                n
                for (ns, n), pod in self.cluster.pods.items()
                if ns == namespace and not pod["metadata"].get("deletionTimestamp")
            )
        )

    def write_kubeconfig(
        self,
        path: Path,
        contexts: tuple[str, ...] = ("fake",),
        current: str | None = None,
        token: str = TOKEN,
        extra_clusters: dict[str, str] | None = None,
    ) -> Path:
        """A kubeconfig whose contexts all reach this server, trusting its CA through
        ``certificate-authority-data`` (``extra_clusters``: name -> URL adds contexts pointing
        elsewhere, e.g. at a closed port)."""
        servers = {name: self.url for name in contexts} | dict(extra_clusters or {})
        ca = base64.b64encode(self.tls.ca_path.read_bytes()).decode()
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": n, "cluster": {"server": u, "certificate-authority-data": ca}}
                for n, u in servers.items()
            ],
            "users": [{"name": "styx-user", "user": {"token": token}}],
            "contexts": [
                {"name": n, "context": {"cluster": n, "user": "styx-user"}} for n in servers
            ],
            "current-context": current or contexts[0],
        }
        path.write_text(yaml.safe_dump(doc))
        return path

    # ---- HTTP --------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_get("/version", self._version)
        r.add_get("/version/", self._version)
        r.add_get("/api", self._api_versions)
        r.add_get("/api/", self._api_versions)
        r.add_get("/api/v1", self._api_resources)
        r.add_get("/api/v1/", self._api_resources)
        r.add_get("/api/v1/namespaces", self._list_namespaces)
        r.add_post("/api/v1/namespaces", self._create_namespace)
        r.add_get("/api/v1/namespaces/{ns}", self._get_namespace)
        r.add_get("/api/v1/pods", self._list_pods)
        r.add_get("/api/v1/namespaces/{ns}/pods", self._list_pods)
        r.add_post("/api/v1/namespaces/{ns}/pods", self._create_pod)
        r.add_get(POD, self._get_pod)
        r.add_delete(POD, self._delete_pod)
        r.add_get(POD + "/status", self._get_pod)
        r.add_patch(POD + "/status", self._patch_pod_status)
        r.add_get(POD + "/exec", self._exec)
        r.add_post(POD + "/exec", self._exec)
        r.add_get("/api/v1/namespaces/{ns}/services", self._list_services)
        r.add_post("/api/v1/namespaces/{ns}/services", self._create_service)
        r.add_get("/api/v1/namespaces/{ns}/services/{name}", self._get_service)
        r.add_delete("/api/v1/namespaces/{ns}/services/{name}", self._delete_service)
        r.add_get("/api/v1/nodes", self._list_nodes)
        r.add_get("/api/v1/nodes/{name}", self._get_node)
        r.add_get("/api/v1/events", self._list_events)
        r.add_get("/api/v1/namespaces/{ns}/events", self._list_events)
        for kind, base in (
            ("ServiceAccount", "/api/v1/namespaces/{ns}/serviceaccounts"),
            ("Role", RBAC + "/roles"),
            ("RoleBinding", RBAC + "/rolebindings"),
        ):
            r.add_post(base, self._rbac_create(kind))
            r.add_get(base + "/{name}", self._rbac_get(kind))
        return app

    def _authorized(self, request: web.Request) -> web.Response | None:
        """None when the bearer token may make this call, else the 401/403 to answer."""
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if self.auth_fail:
            return self._status(401, "Unauthorized", "Unauthorized")
        if token == TOKEN:
            return None
        account = parse_sa_token(token)
        if account is None:
            return self._status(401, "Unauthorized", "Unauthorized")
        # A pod's service account: only what a RoleBinding grants (this fake knows pods/exec).
        parts = request.path.strip("/").split("/")
        ns = parts[3] if len(parts) > 3 and parts[2] == "namespaces" else ""
        resource = "/".join(p for i, p in enumerate(parts) if i in (4, 6))
        verb = "create" if resource == "pods/exec" else request.method.lower()
        if self.rbac.allows(*account, verb, resource, ns):
            return None
        user = f"system:serviceaccount:{account[0]}:{account[1]}"
        return self._status(
            403,
            "Forbidden",
            f'{resource or request.path} is forbidden: User "{user}" cannot {verb} resource '
            f'"{resource}" in API group "" in the namespace "{ns}"',
        )

    def _rbac_create(self, kind: str) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            ns = request.match_info["ns"]
            self.cluster._require_ns(ns)
            obj = self.rbac.create(kind, ns, await request.json())
            if obj is None:
                raise ApiError(409, "AlreadyExists", f"{kind.lower()} already exists")
            return web.json_response(obj, status=201)

        return handler

    def _rbac_get(self, kind: str) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            m = request.match_info
            obj = self.rbac.get(kind, m["ns"], m["name"])
            if obj is None:
                raise ApiError(404, "NotFound", f'{kind.lower()} "{m["name"]}" not found')
            return web.json_response(obj)

        return handler

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        refused = self._authorized(request)
        if refused is not None:
            return refused
        for fault in self.faults:
            if fault.remaining > 0 and fault.method in (None, request.method):
                fault.remaining -= 1
                reason = {429: "TooManyRequests", 500: "InternalError"}.get(fault.status, "")
                resp = self._status(fault.status, reason, fault.message)
                if fault.status == 429:
                    resp.headers["Retry-After"] = "0"
                return resp
        try:
            return await handler(request)
        except ApiError as e:
            return self._status(e.code, e.reason, e.message)

    @staticmethod
    def _status(code: int, reason: str, message: str) -> web.Response:
        return web.json_response(status_body(code, reason, message), status=code)

    @staticmethod
    def _list(kind: str, items: list[dict[str, Any]], rv: str = "1") -> web.Response:
        return web.json_response(
            {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": rv}, "items": items}
        )

    @staticmethod
    def _selected(request: web.Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        labels = label_matcher(request.query.get("labelSelector"))
        fields = field_matcher(request.query.get("fieldSelector"))
        chosen = [i for i in items if labels(i["metadata"].get("labels") or {}) and fields(i)]
        limit = int(request.query.get("limit") or 0)
        return chosen[:limit] if limit else chosen

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.0-styx-fake",
                "gitCommit": "0" * 40,
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.23",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        )

    async def _api_versions(self, request: web.Request) -> web.Response:
        return web.json_response({"kind": "APIVersions", "versions": ["v1"],
                                  "serverAddressByClientCIDRs": []})  # fmt: skip

    async def _api_resources(self, request: web.Request) -> web.Response:
        def res(name: str, kind: str, namespaced: bool, verbs: list[str]) -> dict[str, Any]:
            return {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind,
                    "verbs": verbs}  # fmt: skip

        crud = ["create", "delete", "get", "list", "watch"]
        return web.json_response(
            {
                "kind": "APIResourceList",
                "groupVersion": "v1",
                "resources": [
                    res("namespaces", "Namespace", False, ["create", "get", "list"]),
                    res("pods", "Pod", True, crud),
                    res("pods/status", "Pod", True, ["get", "patch"]),
                    res("pods/exec", "PodExecOptions", True, ["create", "get"]),
                    res("services", "Service", True, crud[:-1]),
                    res("nodes", "Node", False, ["get", "list"]),
                    res("events", "Event", True, ["list"]),
                ],
            }
        )

    # namespaces

    async def _list_namespaces(self, request: web.Request) -> web.Response:
        items = self._selected(request, list(self.cluster.namespaces.values()))
        return self._list("NamespaceList", items)

    async def _create_namespace(self, request: web.Request) -> web.Response:
        return web.json_response(self.cluster.create_namespace(await request.json()), status=201)

    async def _get_namespace(self, request: web.Request) -> web.Response:
        ns = self.cluster.namespaces.get(request.match_info["ns"])
        if ns is None:
            raise ApiError(404, "NotFound", f'namespaces "{request.match_info["ns"]}" not found')
        return web.json_response(ns)

    # pods

    async def _list_pods(self, request: web.Request) -> web.StreamResponse:
        ns = request.match_info.get("ns")
        pods = [p for (n, _), p in self.cluster.pods.items() if ns in (None, n)]
        if request.query.get("watch") in ("true", "1"):
            return await self._watch(request, ns)
        return self._list("PodList", self._selected(request, pods))

    async def _watch(self, request: web.Request, ns: str | None) -> web.StreamResponse:
        """Chunked JSON lines of {type, object}; ADDED for what exists, then live changes."""
        labels = label_matcher(request.query.get("labelSelector"))
        timeout = float(request.query.get("timeoutSeconds") or 300)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.cluster.watchers.append(queue)

        def wanted(pod: dict[str, Any]) -> bool:
            meta = pod["metadata"]
            return ns in (None, meta["namespace"]) and labels(meta.get("labels") or {})

        try:
            if not request.query.get("resourceVersion"):
                for pod in list(self.cluster.pods.values()):
                    if wanted(pod):
                        line = json.dumps({"type": "ADDED", "object": pod})
                        await resp.write(line.encode() + b"\n")
            deadline = asyncio.get_running_loop().time() + timeout
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                try:
                    kind, pod = await asyncio.wait_for(queue.get(), min(left, 0.1))
                except TimeoutError:
                    # Notice a client that went away (or a server shutting down) early.
                    if (
                        self._closing
                        or request.transport is None
                        or (request.transport.is_closing())
                    ):
                        break
                    continue
                if wanted(pod):
                    line = json.dumps({"type": kind, "object": pod})
                    await resp.write(line.encode() + b"\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.cluster.watchers.remove(queue)
        with contextlib.suppress(ConnectionResetError):
            await resp.write_eof()
        return resp

    async def _create_pod(self, request: web.Request) -> web.Response:
        body = await request.json()
        ns = request.match_info["ns"]
        if self.quota_exceeded:
            name = body.get("metadata", {}).get("name", "")
            raise ApiError(
                403,
                "Forbidden",
                f'pods "{name}" is forbidden: exceeded quota: compute-resources, '
                "requested: requests.cpu=1, used: requests.cpu=4, limited: requests.cpu=4",
            )
        return web.json_response(self.cluster.create_pod(ns, body), status=201)

    async def _get_pod(self, request: web.Request) -> web.Response:
        m = request.match_info
        return web.json_response(self.cluster.get_pod(m["ns"], m["name"]))

    async def _delete_pod(self, request: web.Request) -> web.Response:
        """DeleteOptions.gracePeriodSeconds from the query or the body (the client sends
        either); without it the pod's terminationGracePeriodSeconds applies."""
        m = request.match_info
        grace = request.query.get("gracePeriodSeconds")
        if grace is None and request.can_read_body:
            body = await request.json()
            grace = (body or {}).get("gracePeriodSeconds")
        pod = self.cluster.delete_pod(m["ns"], m["name"], None if grace is None else int(grace))
        return web.json_response(pod)

    async def _patch_pod_status(self, request: web.Request) -> web.Response:
        m = request.match_info
        body = await request.json()
        pod = self.cluster.patch_pod_status(m["ns"], m["name"], body.get("status", {}))
        return web.json_response(pod)

    # services, nodes, events

    async def _list_services(self, request: web.Request) -> web.Response:
        ns = request.match_info["ns"]
        svcs = [s for (n, _), s in self.cluster.services.items() if n == ns]
        return self._list("ServiceList", self._selected(request, svcs))

    async def _create_service(self, request: web.Request) -> web.Response:
        svc = self.cluster.create_service(request.match_info["ns"], await request.json())
        return web.json_response(svc, status=201)

    async def _get_service(self, request: web.Request) -> web.Response:
        m = request.match_info
        return web.json_response(self.cluster.get_service(m["ns"], m["name"]))

    async def _delete_service(self, request: web.Request) -> web.Response:
        m = request.match_info
        return web.json_response(self.cluster.delete_service(m["ns"], m["name"]))

    async def _list_nodes(self, request: web.Request) -> web.Response:
        nodes = [n.to_json() for n in self.cluster.nodes]
        return self._list("NodeList", self._selected(request, nodes))

    async def _get_node(self, request: web.Request) -> web.Response:
        for node in self.cluster.nodes:
            if node.name == request.match_info["name"]:
                return web.json_response(node.to_json())
        raise ApiError(404, "NotFound", f'nodes "{request.match_info["name"]}" not found')

    async def _list_events(self, request: web.Request) -> web.Response:
        ns = request.match_info.get("ns")
        events = [e for e in self.cluster.events if ns in (None, e["metadata"]["namespace"])]
        return self._list("EventList", self._selected(request, copy.deepcopy(events)))

    # ---- exec --------------------------------------------------------------------------------

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        """Pod exec over a websocket: frames carry a channel byte (0 stdin, 1 stdout, 2 stderr,
        3 status). The command runs here with bash-compatible semantics in the pod's folder."""
        m = request.match_info
        pod = self.cluster.get_pod(m["ns"], m["name"])
        names = [c["name"] for c in pod["spec"]["containers"]]
        container = request.query.get("container") or names[0]
        # Rules and wording of the apiserver's exec path (pkg/registry/core/pod/strategy.go
        # ExecLocation, pkg/kubelet/server): https://kubernetes.io/docs/reference/generated/
        # kubernetes-api/v1.31/#execute-connect-exec-pod-v1-core
        if container not in names:
            raise ApiError(
                400, "BadRequest", f"container {container} is not valid for pod {m['name']}"
            )
        if pod["status"].get("phase") != "Running":
            raise ApiError(
                400,
                "BadRequest",
                f'unable to upgrade connection: container not found ("{container}")',
            )
        command = request.query.getall("command", [])
        if not command:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        if not any(request.query.get(k) in ("true", "1") for k in ("stdin", "stdout", "stderr")):
            raise ApiError(
                400, "BadRequest", "you must specify at least 1 of stdin, stdout, stderr"
            )
        ws = web.WebSocketResponse(protocols=(V4,))
        await ws.prepare(request)
        workdir = self.cluster.pod_dir(m["ns"], m["name"])
        env = self._pod_env(pod, workdir)
        want_stdin = request.query.get("stdin") in ("true", "1")
        try:
            proc = await asyncio.create_subprocess_exec(
                *command,
                cwd=workdir,
                env=env,
                stdin=asyncio.subprocess.PIPE if want_stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as e:
            # The runtime could not start the process: a Failure Status with no exit code, as
            # the kubelet reports an OCI exec error (there is no process, hence no code).
            await self._send_start_failure(ws, command[0], e)
            await ws.close()
            return ws

        async def pump(stream: asyncio.StreamReader | None, channel: int) -> None:
            assert stream is not None
            while chunk := await stream.read(32768):
                with contextlib.suppress(ConnectionError):
                    await ws.send_bytes(bytes([channel]) + chunk)

        async def feed() -> None:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    data = msg.data
                elif msg.type == WSMsgType.TEXT:  # chr(channel) + text payload
                    data = bytes([ord(msg.data[0])]) + msg.data[1:].encode() if msg.data else b""
                else:
                    break
                if data and data[0] == 0 and proc.stdin is not None:
                    proc.stdin.write(data[1:])
                    with contextlib.suppress(ConnectionError):
                        await proc.stdin.drain()

        feeder = asyncio.ensure_future(feed())
        try:
            await asyncio.gather(pump(proc.stdout, 1), pump(proc.stderr, 2))
            code = await proc.wait()
            await self._send_status(ws, code, "")
        finally:
            feeder.cancel()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await ws.close()
        return ws

    def _pod_env(self, pod: dict[str, Any], workdir: Path) -> dict[str, str]:
        """What a process exec'd in the pod sees: its folder as $HOME, the in-cluster API
        address and its service account's folder (token, namespace, ca.crt)."""
        meta = pod["metadata"]
        account = pod["spec"].get("serviceAccountName") or "default"
        env = {
            "HOME": str(workdir),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOSTNAME": meta["name"],
            "LANG": "C.UTF-8",
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(self.port),
            "STYX_KUBE_SA_DIR": str(self.rbac.sa_dir(meta["namespace"], account)),
            POD_UID_ENV: meta["uid"],  # so that deleting the pod kills what runs in it
        }
        # Pods run on this machine: keep a pyenv-managed python3 working with the pod's $HOME.
        pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
        if os.path.isdir(pyenv):
            env["PYENV_ROOT"] = pyenv
        for c in pod["spec"].get("containers", [])[:1]:
            env.update({e["name"]: str(e.get("value", "")) for e in c.get("env") or []})
        return env

    @staticmethod
    async def _send_status(ws: web.WebSocketResponse, code: int, message: str) -> None:
        """The v1 Status on channel 3 (k8s.io/client-go/tools/remotecommand/v4.go): Success,
        or Failure/NonZeroExitCode with the code as an ExitCode cause."""
        if code == 0:
            status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        else:
            status = {
                "metadata": {},
                "status": "Failure",
                "message": message or f"command terminated with non-zero exit code: {code}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
            }
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())

    @staticmethod
    async def _send_start_failure(ws: web.WebSocketResponse, argv0: str, exc: OSError) -> None:
        """What containerd/runc answer when the command cannot start: InternalError, no code."""
        why = (
            f'exec: "{argv0}": executable file not found in $PATH'
            if isinstance(exc, FileNotFoundError)
            else f'exec: "{argv0}": {exc.strerror or exc}'
        )
        message = (
            "Internal error occurred: error executing command in container: failed to exec in "
            "container: OCI runtime exec failed: exec failed: unable to start container "
            f"process: {why}: unknown"
        )
        status = {
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": "InternalError",
            "details": {"causes": [{"message": message}]},
            "code": 500,
        }
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())
