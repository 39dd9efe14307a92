"""The fake API server rejects what a real one rejects, in the real v1 Status shape.

Raw HTTPS (and a raw exec websocket) to the fake, one malformed request per rule. Sources:
the Pod API reference (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/
pod-v1/), core/v1 validation (kubernetes/pkg/apis/core/validation/validation.go), graceful
deletion (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination),
the remotecommand v4 Status protocol (client-go/tools/remotecommand/v4.go), and the image
reference grammar (https://github.com/distribution/reference/blob/main/regexp.go).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from styx.agent.kubeexec import OP_BINARY, OP_CLOSE, InCluster, WebSocket, exec_path
from tests.fakes.kubernetes.server import TOKEN, FakeKubeServer

PODS = "/api/v1/namespaces/default/pods"


def request(
    server: FakeKubeServer, method: str, path: str, body: Any = None, token: str | None = TOKEN
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10, context=server.tls.client_context()) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def pod(pod_name: str, **container: Any) -> dict[str, Any]:
    c = {"name": "c", "image": "python:3.11-slim", **container}
    return {"metadata": {"name": pod_name}, "spec": {"containers": [c]}}


def running(server: FakeKubeServer, name: str) -> None:
    deadline = time.monotonic() + 10
    while request(server, "GET", f"{PODS}/{name}")[1]["status"].get("phase") != "Running":
        assert time.monotonic() < deadline
        time.sleep(0.02)


def assert_status(payload: dict[str, Any], code: int, reason: str) -> None:
    assert payload["kind"] == "Status" and payload["apiVersion"] == "v1"
    assert (payload["status"], payload["code"], payload["reason"]) == ("Failure", code, reason)


def test_plain_http_is_not_served(fake_k8s: FakeKubeServer) -> None:
    with pytest.raises(OSError):  # URLError or a dropped connection: no plain-HTTP answer
        urllib.request.urlopen(f"http://127.0.0.1:{fake_k8s.port}/version", timeout=5)


def test_no_token_is_401(fake_k8s: FakeKubeServer) -> None:
    status, payload = request(fake_k8s, "GET", PODS, token=None)
    assert status == 401
    assert_status(payload, 401, "Unauthorized")


@pytest.mark.parametrize(
    "body,field",
    [
        ({"metadata": {"name": "p"}, "spec": {"containers": []}}, "spec.containers"),
        (pod("p", image=""), "spec.containers[0].image"),
        (pod("p", image=" python:3.11 "), "spec.containers[0].image"),
        (pod("p", name="Bad_Name"), "spec.containers[0].name"),
        (pod("Bad_Pod"), "metadata.name"),
        (
            {**pod("p"), "spec": {**pod("p")["spec"], "restartPolicy": "Sometimes"}},
            "spec.restartPolicy",
        ),
        (
            pod("p", resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
            "spec.containers[0].resources.requests",
        ),
        ({**pod("p"), "metadata": {"name": "p", "labels": {"k": "a b"}}}, "metadata.labels"),
    ],
)
def test_invalid_pods_are_422(fake_k8s: FakeKubeServer, body: dict[str, Any], field: str) -> None:
    status, payload = request(fake_k8s, "POST", PODS, body)
    assert status == 422
    assert_status(payload, 422, "Invalid")
    assert f"is invalid: {field}: " in payload["message"]
    assert fake_k8s.pod_names() == []


def test_unparseable_image_is_accepted_then_invalid_image_name(fake_k8s: FakeKubeServer) -> None:
    # The API stores any non-blank image; the kubelet refuses to parse it (InvalidImageName).
    status, _ = request(fake_k8s, "POST", PODS, pod("img", image="Python:3.11!!"))
    assert status == 201
    deadline = time.monotonic() + 10
    while True:
        got = request(fake_k8s, "GET", f"{PODS}/img")[1]["status"]
        waiting = [c["state"].get("waiting") for c in got.get("containerStatuses", [])]
        if waiting and waiting[0]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert got["phase"] == "Pending" and waiting[0]["reason"] == "InvalidImageName"
    assert "couldn't parse image reference" in waiting[0]["message"]


def test_delete_goes_through_terminating_and_the_name_stays_taken(
    fake_k8s: FakeKubeServer,
) -> None:
    body = pod("t")
    body["spec"]["terminationGracePeriodSeconds"] = 7
    assert request(fake_k8s, "POST", PODS, body)[0] == 201
    running(fake_k8s, "t")
    status, deleted = request(fake_k8s, "DELETE", f"{PODS}/t")
    assert status == 200
    assert deleted["metadata"]["deletionTimestamp"]
    assert deleted["metadata"]["deletionGracePeriodSeconds"] == 7
    status, still = request(fake_k8s, "GET", f"{PODS}/t")
    assert status == 200 and still["metadata"]["deletionTimestamp"]
    # Re-creating the name while the old pod terminates: 409, the registry's wording.
    status, payload = request(fake_k8s, "POST", PODS, pod("t"))
    assert status == 409
    assert_status(payload, 409, "AlreadyExists")
    assert payload["message"] == 'object is being deleted: pods "t" already exists'
    fake_k8s.wait_pods_gone()
    assert request(fake_k8s, "GET", f"{PODS}/t")[0] == 404
    assert request(fake_k8s, "POST", PODS, pod("t"))[0] == 201


def test_grace_period_zero_deletes_at_once(fake_k8s: FakeKubeServer) -> None:
    assert request(fake_k8s, "POST", PODS, pod("z"))[0] == 201
    running(fake_k8s, "z")
    assert request(fake_k8s, "DELETE", f"{PODS}/z?gracePeriodSeconds=0")[0] == 200
    assert request(fake_k8s, "GET", f"{PODS}/z")[0] == 404


def exec_status(
    server: FakeKubeServer, name: str, argv: list[str], container: str | None = None
) -> dict[str, Any]:
    """The Status JSON an exec ends with (channel 3), read off a raw v4 websocket."""
    cfg = InCluster("127.0.0.1", server.port, TOKEN, str(server.tls.ca_path))
    ws = WebSocket.connect(cfg, exec_path("default", name, container, argv))
    try:
        while True:
            op, payload = ws.recv()
            if op == OP_CLOSE:
                raise AssertionError("closed without a status")
            if op == OP_BINARY and payload[:1] == b"\x03":
                return dict(json.loads(payload[1:]))
    finally:
        ws.close()


def test_exec_statuses(fake_k8s: FakeKubeServer) -> None:
    assert request(fake_k8s, "POST", PODS, pod("x"))[0] == 201
    running(fake_k8s, "x")
    assert exec_status(fake_k8s, "x", ["true"]) == {"metadata": {}, "status": "Success"}
    failed = exec_status(fake_k8s, "x", ["sh", "-c", "exit 3"])
    assert (failed["status"], failed["reason"]) == ("Failure", "NonZeroExitCode")
    assert failed["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    # A command that cannot start has no exit code: the runtime's error, no ExitCode cause.
    missing = exec_status(fake_k8s, "x", ["no-such-command-styx"])
    assert (missing["status"], missing["reason"], missing["code"]) == (
        "Failure",
        "InternalError",
        500,
    )
    assert "executable file not found in $PATH" in missing["message"]
    assert all(c.get("reason") != "ExitCode" for c in missing["details"]["causes"])


def test_exec_refusals_are_400(fake_k8s: FakeKubeServer) -> None:
    assert request(fake_k8s, "POST", PODS, pod("r"))[0] == 201
    running(fake_k8s, "r")
    wrong = exec_path("default", "r", "nope", ["true"])
    status, payload = request(fake_k8s, "GET", wrong)
    assert status == 400 and payload["message"] == "container nope is not valid for pod r"
    query = urllib.parse.urlencode([("command", "true")])
    status, payload = request(fake_k8s, "GET", f"{PODS}/r/exec?{query}")
    assert status == 400
    assert payload["message"] == "you must specify at least 1 of stdin, stdout, stderr"
