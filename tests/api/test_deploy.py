"""The container image recipe and the Kubernetes manifests agree with each other and with the
server they run: selectors match labels, probes hit routes the app serves without a token, the
entrypoint is a valid `styx api start` command line, ports and the user match, the RBAC covers
what the kubernetes provider grants its pods, every environment variable is documented. Also the
server's probes and its graceful stop. Offline: no docker, no cluster, no network."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from tests.api.conftest import wait_healthy
from tests.api.postgres import free_port
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
K8S = DEPLOY / "kubernetes"
NAMESPACE = "styx"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


# --- the files ---------------------------------------------------------------------------


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            assert isinstance(doc, dict), f"{path.name}: every document is a mapping"
            doc["__file__"] = path.name
            docs.append(doc)
    return docs


def find(kind: str, name: str) -> dict[str, Any]:
    hits = [d for d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(hits) == 1, f"exactly one {kind}/{name}, found {len(hits)}"
    return hits[0]


def dockerfile() -> dict[str, Any]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    out: dict[str, Any] = {"ENV": {}}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if word == "ENV":
            out["ENV"].update(dict(shlex.split(p)[0].split("=", 1) for p in rest.split()))
        elif word in ("ENTRYPOINT", "CMD"):
            out[word] = json.loads(rest)  # exec form: no shell in between
        else:
            out.setdefault(word, []).append(rest)
    return out


def api_deployment() -> dict[str, Any]:
    return find("Deployment", "styx-api")


def api_container() -> dict[str, Any]:
    (container,) = [
        c for c in api_deployment()["spec"]["template"]["spec"]["containers"] if c["name"] == "api"
    ]
    return container


def test_every_manifest_is_a_named_object_in_the_styx_namespace() -> None:
    docs = manifests()
    kinds = {d["kind"] for d in docs}
    for needed in (
        "Namespace",
        "Secret",
        "StatefulSet",
        "Service",
        "Deployment",
        "ConfigMap",
        "ServiceAccount",
        "Role",
        "RoleBinding",
    ):
        assert needed in kinds
    for doc in docs:
        where = f"{doc['__file__']}: {doc['kind']}"
        assert doc.get("apiVersion"), where
        assert doc["metadata"].get("name"), where
        if doc["kind"] not in CLUSTER_SCOPED:
            assert doc["metadata"].get("namespace") == NAMESPACE, where
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == NAMESPACE
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    # Templates with placeholder values are never applied as they are.
    assert not any("example" in r for r in kustomization["resources"])
    assert {i["name"] for i in kustomization["images"]} == {"styx-api"}


def _workloads() -> list[dict[str, Any]]:
    return [d for d in manifests() if d["kind"] in ("Deployment", "StatefulSet")]


def test_selectors_match_the_pods_labels_and_named_ports() -> None:
    workloads = _workloads()
    for w in workloads:
        labels = w["spec"]["template"]["metadata"]["labels"]
        selector = w["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items(), w["metadata"]["name"]
    services = [d for d in manifests() if d["kind"] == "Service"]
    for service in services:
        selector = service["spec"]["selector"]
        targets = [
            w
            for w in workloads
            if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(targets) == 1, f"Service {service['metadata']['name']} selects one workload"
        ports = {
            p["name"]: p["containerPort"]
            for c in targets[0]["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, port
    statefulset = find("StatefulSet", "styx-postgres")
    assert statefulset["spec"]["serviceName"] == "styx-postgres"
    pdb = find("PodDisruptionBudget", "styx-api")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= (
        api_deployment()["spec"]["template"]["metadata"]["labels"].items()
    )
    # Only the API server's pods may reach the database.
    policy = find("NetworkPolicy", "styx-postgres")["spec"]
    postgres_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= postgres_labels.items()
    (allowed,) = policy["ingress"]
    (source,) = allowed["from"]
    assert (
        source["podSelector"]["matchLabels"] == api_deployment()["spec"]["selector"]["matchLabels"]
    )
    assert [p["port"] for p in allowed["ports"]] == [
        statefulset["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    ]
    ingress = find("Ingress", "styx-api")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "styx-api"
    assert backend["port"]["name"] in {
        p["name"] for p in find("Service", "styx-api")["spec"]["ports"]
    }


def test_references_name_objects_that_exist() -> None:
    docs = manifests()
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    for w in _workloads():
        spec = w["spec"]["template"]["spec"]
        containers = spec["containers"] + spec.get("initContainers", [])
        for c in containers:
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets[ref["name"]]["stringData"], ref
            for source in c.get("envFrom", []):
                assert source["secretRef"]["name"] in secrets
            mounted = {v["name"] for v in c.get("volumeMounts", [])}
            assert mounted <= {v["name"] for v in spec.get("volumes", [])} | {
                t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])
            }
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps
        if "serviceAccountName" in spec:
            find("ServiceAccount", spec["serviceAccountName"])
    for binding in [d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")]:
        role_kind = binding["roleRef"]["kind"]
        find(role_kind, binding["roleRef"]["name"])
        for subject in binding["subjects"]:
            find(subject["kind"], subject["name"])


# --- the server the manifests run ---------------------------------------------------------


def _start_params(argv: list[str]) -> dict[str, Any]:
    """Parse ``argv`` (after ``styx``) with click, as the CLI would, without running it."""
    from styx.cli.main import cli

    assert argv[:2] == ["api", "start"], argv
    root = click.Context(cli, info_name="styx")
    group = cli.get_command(root, "api")  # the CLI's lazy loading, as `styx api` resolves it
    assert isinstance(group, click.Group)
    start = group.get_command(root, "start")
    assert start is not None
    with start.make_context("start", list(argv[2:])) as ctx:
        return dict(ctx.params)


def _expand(args: list[str], env: list[dict[str, Any]]) -> list[str]:
    """Kubernetes' $(VAR) expansion, from the container's own env (each must be defined)."""
    defined = {e["name"] for e in env}

    def one(match: re.Match[str]) -> str:
        assert match.group(1) in defined, f"$({match.group(1)}) is not in the container's env"
        return "10.1.2.3"  # a pod IP

    return [re.sub(r"\$\((\w+)\)", one, a) for a in args]


def test_entrypoint_is_a_valid_foreground_start_that_may_listen() -> None:
    from styx.server.serve import ServeOptions, check_listen

    image = dockerfile()
    assert image["ENTRYPOINT"][0] == "styx"
    docker_params = _start_params(image["ENTRYPOINT"][1:] + image["CMD"])
    assert docker_params["foreground"]
    # docker run's default listens beyond loopback, so with TLS (the operator mounts the files).
    assert docker_params["tls_cert"] and docker_params["tls_key"]
    assert not docker_params["insecure"]

    container = api_container()
    assert "command" not in container, "the pod runs the image's entrypoint"
    args = _expand(container["args"], container["env"])
    params = _start_params(image["ENTRYPOINT"][1:] + args)
    assert params["foreground"] and params["insecure"] and params["host"] == "10.1.2.3"
    opts = ServeOptions(params["host"], params["port"], None, None, params["insecure"])
    assert check_listen(opts) is None  # plain HTTP on the pod IP, allowed by --insecure
    # The pod's grace period covers the preStop pause, the drain and the open streams.
    grace = api_deployment()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > params["drain_timeout"] + 5 + 5

    # One port everywhere: EXPOSE, the port the image's start and HEALTHCHECK take from
    # STYX_API_PORT, the pod's --port and its named container port.
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert docker_params["port"] is None  # not on the command line: from STYX_API_PORT
    assert ports["http"] == params["port"] == int(image["ENV"]["STYX_API_PORT"])
    assert image["EXPOSE"] == [str(params["port"])]
    assert "--port" not in image["HEALTHCHECK"][0]


def _app_routes() -> set[tuple[str, str]]:
    from styx.db import open_database
    from styx.server.app import make_app

    db = open_database()  # under the test's STYX_HOME
    try:
        app = make_app(db)
        return {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
    finally:
        db.close()


def test_probes_are_routes_the_app_serves(styx_home: Path) -> None:
    routes = _app_routes()
    container = api_container()
    probes = [container[k] for k in ("startupProbe", "readinessProbe", "livenessProbe")]
    for probe in probes:
        assert ("GET", probe["httpGet"]["path"]) in routes
        assert probe["httpGet"]["port"] == "http"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/ready"
    assert "styx.server.probe" in dockerfile()["HEALTHCHECK"][0]


def test_image_and_pods_run_as_the_same_non_root_user() -> None:
    image = dockerfile()
    (user,) = image["USER"]
    uid = int(user.split(":")[0])
    assert uid != 0
    assert any(f"STYX_UID={uid}" in a for a in image["ARG"])
    pod = api_deployment()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == uid
    for c in pod["containers"] + pod["initContainers"]:
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
    # Where the server writes is a volume, not the read-only root.
    mounts = {m["mountPath"] for m in api_container()["volumeMounts"]}
    assert {image["ENV"]["STYX_HOME"], image["ENV"]["HOME"], "/tmp"} <= mounts
    postgres = find("StatefulSet", "styx-postgres")["spec"]["template"]["spec"]
    assert postgres["securityContext"]["runAsNonRoot"] is True


def test_config_and_kubeconfig_point_at_what_the_pod_mounts() -> None:
    data = find("ConfigMap", "styx-config")["data"]
    config = yaml.safe_load(data["config.yaml"])
    assert config["api_server"]["allow_local_provider"] is False
    kube_path = config["kubernetes"]["kubeconfig"]
    mount = next(m for m in api_container()["volumeMounts"] if m["mountPath"] == kube_path)
    assert mount["subPath"] == "kubeconfig"
    kubeconfig = yaml.safe_load(data["kubeconfig"])
    (context,) = kubeconfig["contexts"]
    assert context["name"] == kubeconfig["current-context"]
    assert context["name"] in config["kubernetes"]["allowed_contexts"]
    assert context["context"]["namespace"] == NAMESPACE


def _grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_rbac_lets_the_server_make_the_agent_role_it_creates() -> None:
    from styx.providers.kubernetes.rbac import account_bodies

    granted = _grants(find("Role", "styx-api")["rules"])
    _account, agent_role, _binding = account_bodies(NAMESPACE)
    # Kubernetes refuses to create a Role granting more than its creator holds.
    assert _grants(agent_role["rules"]) <= granted
    for need in [
        ("", "pods", "create"),
        ("", "pods", "delete"),
        ("", "pods/exec", "create"),
        ("", "services", "create"),
        ("", "events", "list"),
        ("", "serviceaccounts", "create"),
        ("rbac.authorization.k8s.io", "roles", "create"),
        ("rbac.authorization.k8s.io", "rolebindings", "create"),
    ]:
        assert need in granted
    cluster = _grants(find("ClusterRole", "styx-api-read-nodes")["rules"])
    assert {("", "nodes", "list"), ("", "pods", "list")} <= cluster
    assert all(verb in ("get", "list", "watch") for _g, _r, verb in cluster)  # read only


def test_every_environment_variable_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    names = set(dockerfile()["ENV"])
    pod = api_deployment()["spec"]["template"]["spec"]
    for c in pod["containers"] + pod["initContainers"]:
        names |= {e["name"] for e in c.get("env", [])}
    names |= set(find("Secret", "styx-db")["stringData"])
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"not in README.md: {missing}"


# --- the probes and the graceful stop of a real server process -----------------------------


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_ready_reports_schema_and_sigterm_stops_cleanly(styx_home: Path) -> None:
    from sqlalchemy import insert

    from styx.db import open_database
    from styx.db.engine import MIGRATIONS
    from styx.db.tables import schema_version
    from styx.server.probe import main as probe

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    assert probe(["--port", str(port), "--timeout", "1"]) == 1  # nothing there yet
    process = subprocess.Popen(
        [sys.executable, "-m", "styx.cli.main", "api", "start", "--foreground",
         "--port", str(port), "--drain-timeout", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=str(REPO),
    )  # fmt: skip
    try:
        wait_healthy(endpoint, process)
        status, body = _get(endpoint + "/api/ready")
        assert status == 200 and body["ready"] is True and body["schema_version"] >= 1
        assert probe(["--port", str(port)]) == 0  # the image's HEALTHCHECK
        # A second server on the taken port: one line, no traceback.
        second = subprocess.run(
            [sys.executable, "-m", "styx.cli.main", "api", "start", "--foreground",
             "--port", str(port)],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=str(REPO), timeout=60,
        )  # fmt: skip
        assert second.returncode != 0
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
        assert "Traceback" not in second.stderr
        # A newer Styx migrated the database: this replica must not take traffic.
        db = open_database(migrate=False)
        with db.engine.begin() as conn:
            conn.execute(insert(schema_version).values(version=99, applied_at=0.0))
        db.close()
        status, body = _get(endpoint + "/api/ready")
        assert status == 503 and body == {
            "ready": False,
            "reason": f"schema at version 99, expected {len(MIGRATIONS)}",
        }
        assert _get(endpoint + "/api/health")[0] == 200  # alive, only not ready
        assert _get(endpoint + "/api/whoami")[0] == 401
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    log = err.decode()
    assert f"serving on http://127.0.0.1:{port} (database: sqlite" in log
    assert log.rstrip().endswith("styx.server: stopped")


def test_shutdown_drains_short_requests_and_marks_the_rest_interrupted(
    styx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner's drain, with stand-in verbs of known duration (the verbs themselves are
    covered by the server flow tests)."""
    from styx.db import open_database
    from styx.db.requests import RequestStatus, RequestStore
    from styx.db.users import UserStore
    from styx.server import verbs
    from styx.server.runner import INTERRUPTED_ERROR, RequestRunner

    async def stand_in(verb: str, args: dict[str, Any], user: Any, printer: Any) -> Any:
        printer.progress(f"{verb} started")
        await asyncio.sleep(float(args["seconds"]))
        return {"slept": args["seconds"]}

    monkeypatch.setattr(verbs, "run_verb", stand_in)
    db = open_database()
    store = RequestStore(db)
    user = UserStore(db).add("alice")

    async def scenario() -> dict[str, str]:
        runner = RequestRunner(store)
        ids = {}
        for name, seconds in (("short", 0.3), ("long", 60), ("cancelled", 60)):
            ids[name] = store.create(user.name, "status", {"seconds": seconds}, None)
            runner.submit(ids[name], "status", {"seconds": seconds}, user)
        await asyncio.sleep(0.1)
        store.request_cancel(ids["cancelled"])  # a user's cancel, seen by the watcher
        await runner.shutdown(drain_s=1.0)
        return ids

    ids = asyncio.run(scenario())
    short, long, cancelled = (store.get(ids[n]) for n in ("short", "long", "cancelled"))
    db.close()
    assert short is not None and long is not None and cancelled is not None
    assert short.status == RequestStatus.SUCCEEDED and short.result == {"slept": 0.3}
    assert long.status == RequestStatus.FAILED and long.error == INTERRUPTED_ERROR
    assert cancelled.status == RequestStatus.CANCELLED and cancelled.error == "cancelled"


# --- a client's stream survives its replica going away -------------------------------------


class _CuttingServer:
    """A stand-in for a replica behind a Service, speaking the stream route's wire format: the
    first stream connection sends two lines then drops (its replica stopped); later ones serve
    from the requested offset. Records each offset asked for."""

    LINES = ["one\n", "two\n", "three\n", "four\n"]

    def __init__(self) -> None:
        import threading

        self.offsets: list[int] = []
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _stream(self, request: Any) -> Any:
        from aiohttp import web

        if request.match_info["id"] == "gone":
            return web.json_response({"error": "request not found"}, status=404)
        offset = int(request.query["offset"])
        self.offsets.append(offset)
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        lines = list(enumerate(self.LINES))[offset:]
        if len(self.offsets) == 1:
            lines = lines[:2]
        for seq, text in lines:
            await response.write(
                json.dumps({"seq": seq, "stream": "output", "text": text}).encode()
            )
            await response.write(b"\n")
        if len(self.offsets) == 1:
            await response.write(b'{"seq": 2, "str')  # half a line, then the connection drops
            assert request.transport is not None
            request.transport.close()
            return response
        done = {"id": "r1", "status": "SUCCEEDED", "result": 7}
        await response.write(json.dumps({"done": True, "request": done}).encode() + b"\n")
        await response.write_eof()
        return response

    def __enter__(self) -> str:
        from aiohttp import web

        async def start() -> str:
            app = web.Application()
            app.router.add_get("/api/requests/{id}/stream", self._stream)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return f"http://127.0.0.1:{self.runner.addresses[0][1]}"

        self.thread.start()
        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_a_cut_stream_resumes_after_the_last_line_printed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from styx.client import remote
    from styx.client.remote import ApiError, RemoteClient
    from styx.client.settings import ApiSettings
    from styx.core.printer import Printer

    monkeypatch.setattr(remote, "STREAM_RETRY_PAUSE_S", 0.05)
    printed: list[str] = []
    server = _CuttingServer()
    with server as endpoint:
        client = RemoteClient(ApiSettings(endpoint, "styx_test"))
        record = client.stream("r1", Printer(printed.append, printed.append))
        assert record == {"id": "r1", "status": "SUCCEEDED", "result": 7}
        assert printed == _CuttingServer.LINES  # each line once, in order
        assert server.offsets == [0, 2]
        with pytest.raises(ApiError, match="request not found"):
            client.stream("gone", Printer.silent())  # an answer, not an outage: no retry
        assert server.offsets == [0, 2]
