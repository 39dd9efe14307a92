"""The fake Compute Engine rejects what the real API rejects, in the real error shape.

Plain HTTP to the fake (no provider, no SDK), one malformed request per rule. Sources: the
Compute Engine v1 REST reference (https://cloud.google.com/compute/docs/reference/rest/v1),
the label rules (https://cloud.google.com/compute/docs/labeling-resources#requirements), the
Spot VM limits (https://cloud.google.com/compute/docs/instances/spot#limitations), and Google's
error model (https://cloud.google.com/apis/design/errors).
"""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from tests.fakes.gcp.auth import access_token
from tests.fakes.gcp.backend import FakeGCE

ZONE = "us-central1-a"
IMAGE = "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts"
GOOD: dict[str, Any] = {
    "name": "styx-strict",
    "machineType": f"zones/{ZONE}/machineTypes/e2-standard-2",
    "disks": [{"boot": True, "autoDelete": True, "initializeParams": {"sourceImage": IMAGE}}],
    "networkInterfaces": [{"network": "global/networks/default"}],
    "labels": {"styx-cluster": "c1"},
}


def call(
    fake: FakeGCE, method: str, path: str, body: Any = None, token: str | None = "auto"
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token == "auto":
        token = access_token(fake.credentials_file)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{fake.base_url}/compute/v1/projects/{fake.project}/{path}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def insert(fake: FakeGCE, body: Any, request_id: str | None = None) -> tuple[int, dict[str, Any]]:
    rid = request_id or str(uuid.uuid4())
    return call(fake, "POST", f"zones/{ZONE}/instances?requestId={rid}", body)


def error_of(payload: dict[str, Any]) -> tuple[int, str, str]:
    err = payload["error"]
    return err["code"], err["errors"][0]["reason"], err["message"]


def test_a_well_formed_insert_is_accepted(fake: FakeGCE) -> None:
    status, op = insert(fake, GOOD)
    assert status == 200 and op["kind"] == "compute#operation", op


def test_no_credentials_is_401_login_required(fake: FakeGCE) -> None:
    # Google's answer to a call without Authorization: 401, status UNAUTHENTICATED.
    status, payload = call(fake, "GET", "regions", token=None)
    assert status == 401
    assert payload["error"]["status"] == "UNAUTHENTICATED"
    assert payload["error"]["errors"][0]["reason"] == "required"
    assert payload["error"]["errors"][0]["message"] == "Login Required."


def test_a_token_nobody_issued_is_401_auth_error(fake: FakeGCE) -> None:
    status, payload = call(fake, "GET", "regions", token="ya29.made-up")
    assert (status, payload["error"]["errors"][0]["reason"]) == (401, "authError")
    assert payload["error"]["message"].startswith("Request had invalid authentication")


@pytest.mark.parametrize("missing", ["disks", "networkInterfaces", "machineType"])
def test_insert_without_a_required_field_is_400(fake: FakeGCE, missing: str) -> None:
    # instances.insert: a boot disk and a network interface are required.
    body = copy.deepcopy(GOOD)
    del body[missing]
    status, payload = insert(fake, body)
    code, reason, message = error_of(payload)
    assert (status, code, reason) == (400, 400, "required")
    assert f"'resource.{missing}'" in message
    assert not fake.instances


def test_insert_without_a_boot_disk_is_400(fake: FakeGCE) -> None:
    body = copy.deepcopy(GOOD)
    body["disks"][0]["boot"] = False
    status, payload = insert(fake, body)
    assert (status, error_of(payload)[1]) == (400, "invalid")


@pytest.mark.parametrize("rid", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "x" * 36])
def test_request_id_must_be_a_uuid(fake: FakeGCE, rid: str) -> None:
    # instances.insert query parameter requestId: a valid UUID, not the zero UUID.
    status, payload = insert(fake, GOOD, request_id=rid)
    _, reason, message = error_of(payload)
    assert (status, reason) == (400, "invalid") and "'requestId'" in message
    assert not fake.instances


@pytest.mark.parametrize(
    "labels",
    [
        {"Bad.Key": "v"},
        {"1starts-with-digit": "v"},
        {"k" * 64: "v"},
        {"ok": "Upper"},
        {"ok": "a.b"},
    ],
)
def test_label_syntax_is_enforced(fake: FakeGCE, labels: dict[str, str]) -> None:
    # labeling-resources#requirements: lowercase letters, digits, '_' and '-', at most 63.
    status, payload = insert(fake, dict(GOOD, labels=labels))
    _, reason, message = error_of(payload)
    assert (status, reason) == (400, "invalid") and "'resource.labels'" in message
    assert "violates format constraints" in message


def test_spot_with_automatic_restart_is_400(fake: FakeGCE) -> None:
    # Spot VM limitations: no automatic restart.
    sched = {
        "provisioningModel": "SPOT",
        "automaticRestart": True,
        "onHostMaintenance": "TERMINATE",
    }
    status, payload = insert(fake, dict(GOOD, scheduling=sched))
    _, reason, message = error_of(payload)
    assert (status, reason) == (400, "invalid")
    assert "'resource.scheduling.automaticRestart'" in message


def test_spot_that_migrates_is_400(fake: FakeGCE) -> None:
    sched = {
        "provisioningModel": "SPOT",
        "automaticRestart": False,
        "onHostMaintenance": "MIGRATE",
    }
    status, payload = insert(fake, dict(GOOD, scheduling=sched))
    assert (status, error_of(payload)[1]) == (400, "invalid")


def test_unknown_provisioning_model_is_400(fake: FakeGCE) -> None:
    status, payload = insert(fake, dict(GOOD, scheduling={"provisioningModel": "CHEAP"}))
    assert (status, error_of(payload)[1]) == (400, "invalid")


def test_zone_operation_is_only_found_in_its_own_zone(fake: FakeGCE) -> None:
    # zoneOperations.get / globalOperations.get: an operation lives in one scope only.
    status, op = insert(fake, GOOD)
    assert status == 200
    name = op["name"]
    assert call(fake, "GET", f"zones/us-central1-b/operations/{name}")[0] == 404
    assert call(fake, "POST", f"zones/us-central1-b/operations/{name}/wait")[0] == 404
    assert call(fake, "GET", f"global/operations/{name}")[0] == 404
    assert call(fake, "POST", f"global/operations/{name}/wait")[0] == 404
    status, polled = call(fake, "GET", f"zones/{ZONE}/operations/{name}")
    assert status == 200 and polled["name"] == name


def test_global_operation_is_not_found_under_a_zone(fake: FakeGCE) -> None:
    body = {"name": "styx-fw", "network": "global/networks/default", "allowed": []}
    status, op = call(fake, "POST", "global/firewalls", body)
    assert status == 200
    assert call(fake, "GET", f"zones/{ZONE}/operations/{op['name']}")[0] == 404
    assert call(fake, "GET", f"global/operations/{op['name']}")[0] == 200
