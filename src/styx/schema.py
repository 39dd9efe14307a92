"""The JSON Schema of a task file (SkyPilot's format, as Styx accepts it)."""

from __future__ import annotations

from typing import Any

from styx.resources import RESOURCE_FIELDS
from styx.task import CORE_FIELDS, UNSUPPORTED_FIELDS

_STR = {"type": "string"}
_NUM_OR_STR = {"anyOf": [{"type": "number"}, {"type": "string"}]}
_STR_MAP = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}

_RESOURCE_PROPS: dict[str, Any] = {
    "infra": {**_STR, "description": "cloud[/region[/zone]], k8s/<context>, ssh/<pool>, local"},
    "cloud": _STR,
    "region": _STR,
    "zone": _STR,
    "cpus": {**_NUM_OR_STR, "description": "4 (exactly) or '4+' (at least)"},
    "memory": {**_NUM_OR_STR, "description": "GiB: 16, '16+', or '4x' (per vCPU)"},
    "instance_type": _STR,
    "accelerators": {
        "description": "'A100:8', {A100: 8}, or a list of candidates",
        "anyOf": [
            _STR,
            {"type": "object", "additionalProperties": {"type": "integer"}},
            {"type": "array", "items": _STR},
        ],
    },
    "accelerator_args": {"type": "object"},
    "use_spot": {"type": "boolean"},
    "job_recovery": {"anyOf": [_STR, {"type": "object"}]},
    "disk_size": {"type": "integer", "minimum": 1},
    "disk_tier": _STR,
    "network_tier": _STR,
    "ports": {
        "anyOf": [
            {"type": "integer"},
            _STR,
            {"type": "array", "items": {"anyOf": [{"type": "integer"}, _STR]}},
        ]
    },
    "labels": _STR_MAP,
    "image_id": {"anyOf": [_STR, {"type": "object", "additionalProperties": _STR}]},
    "autostop": {"anyOf": [{"type": "boolean"}, {"type": "integer"}, _STR, {"type": "object"}]},
    "max_hourly_cost": {"type": "number", "minimum": 0},
    "priority": {"type": "integer", "minimum": 0},
}


def task_schema() -> dict[str, Any]:
    branch = {"type": "object", "additionalProperties": False, "properties": _RESOURCE_PROPS}
    resources = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **_RESOURCE_PROPS,
            "any_of": {"type": "array", "items": branch, "minItems": 1},
            "ordered": {"type": "array", "items": branch, "minItems": 1},
        },
    }
    assert set(resources["properties"]) == set(RESOURCE_FIELDS)  # the schema tracks the parser
    props: dict[str, Any] = {
        "name": _STR,
        "workdir": {
            "anyOf": [
                _STR,
                {"type": "object", "properties": {"url": _STR, "ref": _STR}, "required": ["url"]},
            ]
        },
        "num_nodes": {"type": "integer", "minimum": 1},
        "resources": resources,
        "envs": _STR_MAP,
        "secrets": {"type": "object"},
        "file_mounts": {"type": "object", "additionalProperties": _STR},
        "setup": _STR,
        "run": _STR,
    }
    assert set(props) == set(CORE_FIELDS)
    for key in UNSUPPORTED_FIELDS:
        props[key] = {"description": "accepted for SkyPilot compatibility; not supported yet"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Styx task",
        "type": "object",
        "additionalProperties": False,
        "properties": props,
    }
