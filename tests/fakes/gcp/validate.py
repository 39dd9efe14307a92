"""Request rules Compute Engine enforces on what Styx sends, with GCE's 400 wording.

Each rule names its source. The fake applies them before anything else in instances.insert, so
a provider that sends a malformed body fails here as it would against the real API.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.fakes.gcp.errors import ApiError

# https://cloud.google.com/compute/docs/labeling-resources#requirements
# keys: start with a lowercase letter; lowercase letters, digits, '_' and '-'; at most 63.
LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
# values: may be empty; lowercase letters, digits, '_' and '-'; at most 63.
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
MAX_LABELS = 64
PROVISIONING_MODELS = ("STANDARD", "SPOT")
HOST_MAINTENANCE = ("MIGRATE", "TERMINATE")
TERMINATION_ACTIONS = ("STOP", "DELETE")


def invalid(field: str, value: Any, why: str) -> ApiError:
    return ApiError(400, "invalid", f"Invalid value for field '{field}': '{value}'. {why}")


def request_id(value: str | None) -> None:
    """https://cloud.google.com/compute/docs/reference/rest/v1/instances/insert#query-parameters:
    requestId "must be a valid UUID with the exception that zero UUID is not supported"."""
    if value is None:
        return
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.int == 0 or str(parsed) != value.lower():
        raise invalid("requestId", value, "The request id must be a valid UUID.")


def labels(field: str, found: Any) -> None:
    """Label syntax (see LABEL_KEY / LABEL_VALUE) and count."""
    if not isinstance(found, dict):
        raise invalid(field, found, "Labels must be a map of strings.")
    if len(found) > MAX_LABELS:
        raise invalid(field, "", f"A resource may have at most {MAX_LABELS} labels.")
    for key, value in found.items():
        if not LABEL_KEY.match(str(key)):
            raise invalid(
                field,
                "",
                f"Label key '{key}' violates format constraints. The key must start with a "
                "lowercase character, can only contain lowercase letters, numeric characters, "
                "underscores and dashes. The key can be at most 63 characters long.",
            )
        if not isinstance(value, str) or not LABEL_VALUE.match(value):
            raise invalid(
                field,
                "",
                f"Label value '{value}' violates format constraints. The value can only contain "
                "lowercase letters, numeric characters, underscores and dashes. The value can be "
                "at most 63 characters long.",
            )


def scheduling(sched: Any) -> None:
    """https://cloud.google.com/compute/docs/reference/rest/v1/instances#scheduling (enums) and
    https://cloud.google.com/compute/docs/instances/spot#limitations: Spot VMs cannot restart
    automatically or live-migrate (automaticRestart false, onHostMaintenance TERMINATE)."""
    if not isinstance(sched, dict):
        raise invalid("resource.scheduling", sched, "Expected an object.")
    model = sched.get("provisioningModel", "STANDARD")
    for key, allowed in (
        ("provisioningModel", PROVISIONING_MODELS),
        ("onHostMaintenance", HOST_MAINTENANCE),
        ("instanceTerminationAction", TERMINATION_ACTIONS),
    ):
        if key in sched and sched[key] not in allowed:
            raise invalid(f"resource.scheduling.{key}", sched[key], f"Must be one of {allowed}.")
    if model == "SPOT" or sched.get("preemptible"):
        if sched.get("automaticRestart", False):
            raise invalid(
                "resource.scheduling.automaticRestart",
                "true",
                "Preemptible and Spot instances cannot be automatically restarted.",
            )
        if sched.get("onHostMaintenance", "TERMINATE") != "TERMINATE":
            raise invalid(
                "resource.scheduling.onHostMaintenance",
                sched["onHostMaintenance"],
                "Scheduling must have preemptible be false when OnHostMaintenance isn't TERMINATE.",
            )
    elif "instanceTerminationAction" in sched:
        raise invalid(
            "resource.scheduling.instanceTerminationAction",
            sched["instanceTerminationAction"],
            "Instance termination action is only supported for Spot and preemptible VMs.",
        )


def instance_body(body: Any) -> None:
    """https://cloud.google.com/compute/docs/reference/rest/v1/instances/insert: the body needs
    a name, a machineType, exactly one boot disk and at least one network interface."""
    if not isinstance(body, dict):
        raise ApiError(400, "parseError", "Parse Error")
    for required in ("name", "machineType"):
        if not body.get(required):
            raise ApiError(400, "required", f"Required field 'resource.{required}' not specified")
    disks = body.get("disks") or []
    if not disks:
        raise ApiError(400, "required", "Required field 'resource.disks' not specified")
    boots = [d for d in disks if d.get("boot")]
    if len(boots) != 1:
        raise invalid("resource.disks", "", "Exactly one boot disk must be specified.")
    for i, disk in enumerate(disks):
        params = disk.get("initializeParams")
        if not disk.get("source") and not params:
            raise invalid(f"resource.disks[{i}]", "", "A disk needs a source or initializeParams.")
        if params and params.get("labels") is not None:
            labels(f"resource.disks[{i}].initializeParams.labels", params["labels"])
    if not body.get("networkInterfaces"):
        raise ApiError(400, "required", "Required field 'resource.networkInterfaces' not specified")
    if "labels" in body:
        labels("resource.labels", body["labels"])
    if "scheduling" in body:
        scheduling(body["scheduling"])
