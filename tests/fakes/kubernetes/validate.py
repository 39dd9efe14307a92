"""What the API server (and the kubelet, for image references) rejects in a pod Styx sends.

Sources, named per rule: the apimachinery validation helpers
(https://github.com/kubernetes/apimachinery/blob/master/pkg/util/validation/validation.go:
DNS-1123 names, label keys and values), the core/v1 Pod validation
(https://github.com/kubernetes/kubernetes/blob/master/pkg/apis/core/validation/validation.go:
required containers and images, restartPolicy, requests <= limits), and the image reference
grammar (https://github.com/distribution/reference/blob/main/regexp.go). Errors are the API's
422 ``Invalid`` Status: ``Pod "<name>" is invalid: <field>: <what>``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from tests.fakes.kubernetes.errors import ApiError

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # at most 63
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")  # at most 63
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")  # at most 63
RESTART_POLICIES = ("Always", "OnFailure", "Never")

# distribution/reference: [domain/]path[:tag][@digest]
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)(?::{_TAG})?(?:@{_DIGEST})?$"
)


def image_reference_error(image: str) -> str | None:
    """The kubelet's InvalidImageName message for a reference it cannot parse, else None."""
    m = REFERENCE.match(image)
    if m is not None and len(m.group("name")) <= 255:
        return None
    why = (
        "repository name must be lowercase"
        if REFERENCE.match(image.lower())
        else "invalid reference format"
    )
    return (
        f'Failed to apply default image tag "{image}": '
        f'couldn\'t parse image reference "{image}": {why}'
    )


def _invalid(pod: str, field: str, what: str) -> ApiError:
    return ApiError(422, "Invalid", f'Pod "{pod}" is invalid: {field}: {what}')


def _labels(pod: str, labels: Any) -> None:
    for key, value in (labels or {}).items():
        name = str(key).rpartition("/")[2]
        if not QUALIFIED_NAME.match(name) or len(name) > 63:
            raise _invalid(
                pod,
                "metadata.labels",
                f'Invalid value: "{key}": name part must consist of alphanumeric characters, '
                "'-', '_' or '.', and must start and end with an alphanumeric character",
            )
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            raise _invalid(
                pod,
                "metadata.labels",
                f'Invalid value: "{value}": a valid label must be an empty string or consist of '
                "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                "alphanumeric character",
            )


def _resources(pod: str, i: int, resources: Any) -> None:
    requests = (resources or {}).get("requests") or {}
    limits = (resources or {}).get("limits") or {}
    for name, value in requests.items():
        if name in limits and parse_quantity(value) > parse_quantity(limits[name]):
            raise _invalid(
                pod,
                f"spec.containers[{i}].resources.requests",
                f'Invalid value: "{value}": must be less than or equal to {name} limit of '
                f"{limits[name]}",
            )
    for value in {**requests, **limits}.values():
        if parse_quantity(value) < Decimal(0):
            raise _invalid(
                pod,
                f"spec.containers[{i}].resources",
                f'Invalid value: "{value}": must be greater than or equal to 0',
            )


def validate_pod(body: Any) -> None:
    """Raise the 422 the API server answers for this pod body (nothing for a valid one)."""
    meta = body.get("metadata") or {}
    name = str(meta.get("name") or meta.get("generateName") or "")
    if meta.get("name") and (len(name) > 253 or not DNS1123_SUBDOMAIN.match(name)):
        raise _invalid(
            name,
            "metadata.name",
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
            "character",
        )
    _labels(name, meta.get("labels"))
    spec = body.get("spec") or {}
    containers = spec.get("containers") or []
    if not containers:
        raise _invalid(name, "spec.containers", "Required value")
    policy = spec.get("restartPolicy", "Always")
    if policy not in RESTART_POLICIES:
        supported = ", ".join(f'"{p}"' for p in RESTART_POLICIES)
        raise _invalid(
            name,
            "spec.restartPolicy",
            f'Unsupported value: "{policy}": supported values: {supported}',
        )
    for i, c in enumerate(containers):
        cname = str(c.get("name") or "")
        if not cname:
            raise _invalid(name, f"spec.containers[{i}].name", "Required value")
        if len(cname) > 63 or not DNS1123_LABEL.match(cname):
            raise _invalid(
                name,
                f"spec.containers[{i}].name",
                f'Invalid value: "{cname}": a lowercase RFC 1123 label must consist of lower '
                "case alphanumeric characters or '-', and must start and end with an "
                "alphanumeric character",
            )
        image = c.get("image")
        if not image:
            raise _invalid(name, f"spec.containers[{i}].image", "Required value")
        if image != image.strip():
            raise _invalid(
                name,
                f"spec.containers[{i}].image",
                f'Invalid value: "{image}": must not have leading or trailing whitespace',
            )
        _resources(name, i, c.get("resources"))
