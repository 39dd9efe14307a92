"""The JSON Schema of a task file (SkyPilot's format, as Styx accepts it)."""

from __future__ import annotations

from typing import Any

from styx import spec
from styx.resources import RESOURCE_FIELDS
from styx.task import CORE_FIELDS, UNSUPPORTED_FIELDS

_STR = {"type": "string"}
_ENV_NAME = {"type": "string", "pattern": spec.ENV_NAME_RE.pattern}
_STR_MAP = {
    "type": "object",
    "propertyNames": _ENV_NAME,
    "additionalProperties": {"type": ["string", "number", "boolean"]},
}
_DIGITS = {"type": "string", "pattern": r"^\s*[0-9]{1,18}\s*$"}
# '4', '4+', '0.5', '4x' (memory only); the value's range is the same as for plain numbers.
_QUANTITY_TEXT = r"^\s*[0-9]{1,12}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?\s*\+?\s*$"
_MEMORY_TEXT = r"^\s*[0-9]{1,12}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?\s*[+x]?\s*$"


def _whole(low: int, high: int, description: str = "") -> dict[str, Any]:
    """A whole number in low..high; like the loader, a digit string is accepted too."""
    out: dict[str, Any] = {
        "anyOf": [{"type": "integer", "minimum": low, "maximum": high}, _DIGITS],
    }
    if description:
        out["description"] = description
    return out


def _quantity(high: float, pattern: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "anyOf": [
            {"type": "number", "exclusiveMinimum": 0, "maximum": high},
            {"type": "string", "pattern": pattern},
        ],
    }


_RESOURCE_PROPS: dict[str, Any] = {
    "infra": {**_STR, "description": "cloud[/region[/zone]], k8s/<context>, ssh/<pool>, local"},
    "cloud": _STR,
    "region": _STR,
    "zone": _STR,
    "cpus": _quantity(
        spec.MAX_CPUS,
        _QUANTITY_TEXT,
        f"4 (exactly) or '4+' (at least); above 0, <= {spec.MAX_CPUS:g}",
    ),
    "memory": _quantity(
        spec.MAX_MEMORY_GB,
        _MEMORY_TEXT,
        f"GiB: 16, '16+', or '4x' (per vCPU); above 0, <= {spec.MAX_MEMORY_GB:g} "
        f"('x' <= {spec.MAX_MEMORY_PER_CPU_GB:g})",
    ),
    "instance_type": _STR,
    "accelerators": {
        "description": "'A100:8', {A100: 8}, a list or a mapping of candidates "
        "({L4: 8, A100: 4}, {L4:8, A100:4}); "
        f"count 1..{spec.MAX_ACCELERATORS} or a fraction between 0 and 1 ('T4:0.5')",
        "anyOf": [
            {"type": "string", "pattern": r"^[^\s:][^:]*(:\s*[0-9.]+\s*)?$"},
            {
                "type": "object",
                "minProperties": 1,
                # 'L4:8' as a key (YAML's reading of {L4:8, A100:4}) carries its own count.
                "patternProperties": {":": {"type": "null"}},
                "additionalProperties": {
                    "anyOf": [
                        {"type": "integer", "minimum": 1, "maximum": spec.MAX_ACCELERATORS},
                        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                        {"type": "null"},
                        _STR,
                    ]
                },
            },
            {"type": "array", "minItems": 1, "items": _STR},
        ],
    },
    "accelerator_args": {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    },
    "use_spot": {"anyOf": [{"type": "boolean"}, {"enum": ["true", "false", "yes", "no"]}]},
    "job_recovery": {
        "anyOf": [
            _STR,
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "strategy": {"type": ["string", "null"]},
                    "max_restarts_on_errors": _whole(0, spec.MAX_RESTARTS),
                    "recover_on_exit_codes": {
                        "anyOf": [
                            _whole(0, spec.MAX_EXIT_CODE),
                            {"type": "null"},
                            {"type": "array", "items": _whole(0, spec.MAX_EXIT_CODE)},
                        ]
                    },
                },
            },
        ]
    },
    "disk_size": {
        "description": f"GB, 1..{spec.MAX_DISK_GB}, or with a unit: '1024GB', '1TB'",
        "anyOf": [
            *_whole(1, spec.MAX_DISK_GB)["anyOf"],
            {
                "type": "string",
                "pattern": r"^\s*[0-9]{1,12}(\.[0-9]{1,12})?\s*([kKmMgGtTpP][iI]?[bB]?)?\s*$",
            },
        ],
    },
    "disk_tier": _STR,
    "network_tier": _STR,
    "ports": {
        "description": "8080, '8000-8010' or a list of them; ports 1..65535",
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": 65535},
            {"type": "string", "pattern": r"^\s*[0-9]{1,5}\s*(-\s*[0-9]{1,5}\s*)?$"},
            {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"type": "integer", "minimum": 1, "maximum": 65535},
                        {"type": "string", "pattern": r"^\s*[0-9]{1,5}\s*(-\s*[0-9]{1,5}\s*)?$"},
                    ]
                },
            },
        ],
    },
    "labels": _STR_MAP,
    "image_id": {"anyOf": [_STR, {"type": "object", "additionalProperties": _STR}]},
    "autostop": {
        "description": f"true, minutes (0..{spec.MAX_AUTOSTOP_MINUTES}), '10m', or "
        "{idle_minutes, down}",
        "anyOf": [
            {"type": "boolean"},
            {"type": "integer", "minimum": 0, "maximum": spec.MAX_AUTOSTOP_MINUTES},
            {"type": "string", "pattern": r"^\s*[0-9]{1,12}\s*[smhd]?\s*$"},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "idle_minutes": {
                        "anyOf": [
                            {"type": "integer", "minimum": 0, "maximum": spec.MAX_AUTOSTOP_MINUTES},
                            {"type": "string", "pattern": r"^\s*[0-9]{1,12}\s*[smhd]?\s*$"},
                        ]
                    },
                    "down": {
                        "anyOf": [{"type": "boolean"}, {"enum": ["true", "false", "yes", "no"]}]
                    },
                    "wait_for": {},
                },
            },
        ],
    },
    "max_hourly_cost": {
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": spec.MAX_HOURLY_COST},
            {"type": "string", "maxLength": 40},
        ],
        "description": f"dollars per hour, 0..{spec.MAX_HOURLY_COST:g}",
    },
    "max_total_cost": {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": 0, "maximum": spec.MAX_TOTAL_COST},
            {"type": "string", "maxLength": 40},
        ],
        "description": f"spending cap in dollars, above 0 .. {spec.MAX_TOTAL_COST:.0f}",
    },
    "priority": _whole(0, spec.MAX_PRIORITY, f"0..{spec.MAX_PRIORITY}"),
}


def _service_schema() -> dict[str, Any]:
    from styx import service_spec as svc

    seconds = {"anyOf": [{"type": "number"}, {"type": "string", "maxLength": 40}]}
    path = {"type": "string", "pattern": "^/"}
    replicas = _whole(0, svc.MAX_REPLICAS)
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["readiness_probe"],
        "description": "replicas or replica_policy, not both",
        "properties": {
            "readiness_probe": {
                "anyOf": [
                    path,
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["path"],
                        "properties": {
                            "path": path,
                            "initial_delay_seconds": seconds,
                            "timeout_seconds": seconds,
                            "post_data": {"type": ["string", "object"]},
                            "headers": {"type": "object", "additionalProperties": _STR},
                        },
                    },
                ]
            },
            "replicas": replicas,
            "replica_policy": {
                "type": "object",
                "additionalProperties": False,
                "required": ["min_replicas"],
                "properties": {
                    **{
                        k: replicas
                        for k in (
                            "min_replicas",
                            "max_replicas",
                            "num_overprovision",
                            "base_ondemand_fallback_replicas",
                        )
                    },
                    "target_qps_per_replica": seconds,
                    "upscale_delay_seconds": seconds,
                    "downscale_delay_seconds": seconds,
                    "dynamic_ondemand_fallback": {
                        "anyOf": [{"type": "boolean"}, {"enum": ["true", "false", "yes", "no"]}]
                    },
                },
            },
            "ports": _whole(1, 65535),
            "load_balancing_policy": {"enum": list(svc.LOAD_BALANCING_POLICIES)},
            "tls": {
                "type": "object",
                "additionalProperties": False,
                "required": ["keyfile", "certfile"],
                "properties": {"keyfile": _STR, "certfile": _STR},
            },
        },
    }


def _nullable(props: dict[str, Any]) -> dict[str, Any]:
    """Every field may be written but left empty (``key:`` or ``key: null``): that means unset."""
    return {k: {"anyOf": [{"type": "null"}, v]} if v else v for k, v in props.items()}


def task_schema() -> dict[str, Any]:
    resource_props = _nullable(_RESOURCE_PROPS)
    branch = {"type": "object", "additionalProperties": False, "properties": resource_props}
    resources = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **resource_props,
            **_nullable(
                {
                    "any_of": {"type": "array", "items": branch, "minItems": 1},
                    "ordered": {"type": "array", "items": branch, "minItems": 1},
                }
            ),
        },
    }
    assert set(resources["properties"]) == set(RESOURCE_FIELDS)  # the schema tracks the parser
    props: dict[str, Any] = {
        "name": _STR,
        "workdir": {
            "anyOf": [
                _STR,
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"url": _STR, "ref": {"type": ["string", "integer", "null"]}},
                    "required": ["url"],
                },
            ]
        },
        "num_nodes": _whole(1, spec.MAX_NUM_NODES, f"1..{spec.MAX_NUM_NODES}"),
        "resources": resources,
        "envs": {
            "type": "object",
            "propertyNames": _ENV_NAME,
            "description": "an empty value (HF_TOKEN:) must be passed at launch (--env/--secret)",
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        },
        "secrets": {
            "type": "object",
            "propertyNames": _ENV_NAME,
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        },
        "file_mounts": {
            "type": "object",
            "description": "target on the node (under ~, or absolute on clouds) -> local path, "
            "bucket URL (copied) or storage mapping {name, source, store, mode, persistent}",
            "propertyNames": {"minLength": 1, "maxLength": 4096},
            "additionalProperties": {
                "anyOf": [
                    {"type": "string", "minLength": 1, "maxLength": 4096},
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string"},
                            "source": {"type": "string"},
                            "store": {"enum": ["s3", "gcs", "azure", "r2"]},
                            "mode": {"enum": ["MOUNT", "COPY", "MOUNT_CACHED"]},
                            "persistent": {"type": "boolean"},
                        },
                    },
                ]
            },
        },
        "setup": _STR,
        "run": _STR,
    }
    assert set(props) == set(CORE_FIELDS)
    props = _nullable(props)
    for key in UNSUPPORTED_FIELDS:
        props[key] = {"description": "accepted for SkyPilot compatibility; not supported yet"}
    props["service"] = {
        "description": "SkyPilot's serving section: validated, not acted on yet",
        "anyOf": [{"type": "null"}, _service_schema()],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Styx task",
        "type": "object",
        "additionalProperties": False,
        "properties": props,
    }
