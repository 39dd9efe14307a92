"""The ``service:`` section of a task, checked as SkyPilot's serving reads it.

Styx does not serve yet, so nothing here is acted on (the loader warns that the section is
ignored). It is still validated, so that a file that SkyPilot would refuse is refused here too,
with a one-line error naming the field, instead of being accepted and failing later elsewhere.
"""

from __future__ import annotations

from typing import Any

from styx.errors import TaskSpecError
from styx.spec import as_bool, as_number, as_positive_int, as_str, check_keys, fail

SERVICE_FIELDS = (
    "readiness_probe",
    "replicas",
    "replica_policy",
    "ports",
    "load_balancing_policy",
    "tls",
)
PROBE_FIELDS = ("path", "initial_delay_seconds", "timeout_seconds", "post_data", "headers")
POLICY_FIELDS = (
    "min_replicas",
    "max_replicas",
    "num_overprovision",
    "target_qps_per_replica",
    "dynamic_ondemand_fallback",
    "base_ondemand_fallback_replicas",
    "upscale_delay_seconds",
    "downscale_delay_seconds",
)
LOAD_BALANCING_POLICIES = ("round_robin", "least_load", "instance_aware_least_load")
MAX_REPLICAS = 1000
MAX_SECONDS = 86_400.0  # probe delays and autoscaler delays: at most a day


def check_service(value: Any, where: str = "service") -> None:
    """Raise TaskSpecError (one line, naming the field) if ``value`` is not a valid section."""
    if not isinstance(value, dict):
        raise fail(where, value, "a mapping with readiness_probe and replicas or replica_policy")
    check_keys(value, SERVICE_FIELDS, where)
    if value.get("readiness_probe") is None:
        raise TaskSpecError(
            f"{where}.readiness_probe: missing; expected a path ('/health') or "
            "{path, initial_delay_seconds, ...}",
            field=f"{where}.readiness_probe",
        )
    _check_probe(value["readiness_probe"], f"{where}.readiness_probe")
    if value.get("replicas") is not None and value.get("replica_policy") is not None:
        raise TaskSpecError(
            f"{where}: use either 'replicas' or 'replica_policy', not both", field=where
        )
    if value.get("replicas") is not None:
        as_positive_int(
            f"{where}.replicas", value["replicas"], allow_zero=True, maximum=MAX_REPLICAS
        )
    if value.get("replica_policy") is not None:
        _check_policy(value["replica_policy"], f"{where}.replica_policy")
    if value.get("ports") is not None:
        as_positive_int(f"{where}.ports", value["ports"], maximum=65535)
    if value.get("load_balancing_policy") is not None:
        policy = value["load_balancing_policy"]
        if policy not in LOAD_BALANCING_POLICIES:
            raise fail(
                f"{where}.load_balancing_policy",
                policy,
                f"one of {', '.join(LOAD_BALANCING_POLICIES)}",
            )
    if value.get("tls") is not None:
        tls = value["tls"]
        if not isinstance(tls, dict):
            raise fail(f"{where}.tls", tls, "{keyfile, certfile}")
        check_keys(tls, ("keyfile", "certfile"), f"{where}.tls")
        for key in ("keyfile", "certfile"):
            if tls.get(key) is None:
                raise fail(f"{where}.tls.{key}", None, "a path")
            as_str(f"{where}.tls.{key}", tls[key])


def _check_probe(probe: Any, where: str) -> None:
    if isinstance(probe, str):
        _check_path(probe, where)
        return
    if not isinstance(probe, dict):
        raise fail(where, probe, "a path ('/health') or {path, initial_delay_seconds, ...}")
    check_keys(probe, PROBE_FIELDS, where)
    _check_path(probe.get("path"), f"{where}.path")
    for key in ("initial_delay_seconds", "timeout_seconds"):
        if probe.get(key) is not None:
            as_number(f"{where}.{key}", probe[key], maximum=MAX_SECONDS)
    post_data = probe.get("post_data")
    if post_data is not None and not isinstance(post_data, (str, dict)):
        raise fail(f"{where}.post_data", post_data, "a string or a mapping (sent as JSON)")
    headers = probe.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            raise fail(f"{where}.headers", headers, "a mapping of header names to strings")
        for name, text in headers.items():
            as_str(f"{where}.headers", name)
            as_str(f"{where}.headers.{name}", text)


def _check_path(path: Any, where: str) -> None:
    if not isinstance(path, str) or not path.startswith("/"):
        raise fail(where, path, "a URL path starting with '/'")
    as_str(where, path)


def _check_policy(policy: Any, where: str) -> None:
    if not isinstance(policy, dict):
        raise fail(where, policy, "{min_replicas, max_replicas, target_qps_per_replica, ...}")
    check_keys(policy, POLICY_FIELDS, where)
    if policy.get("min_replicas") is None:
        raise fail(f"{where}.min_replicas", None, f"a whole number from 0 to {MAX_REPLICAS}")
    counts = {}
    for key in (
        "min_replicas",
        "max_replicas",
        "num_overprovision",
        "base_ondemand_fallback_replicas",
    ):
        if policy.get(key) is not None:
            counts[key] = as_positive_int(
                f"{where}.{key}", policy[key], allow_zero=True, maximum=MAX_REPLICAS
            )
    low, high = counts["min_replicas"], counts.get("max_replicas")
    if high is not None and high < low:
        raise fail(f"{where}.max_replicas", high, f"at least min_replicas ({low})")
    if policy.get("target_qps_per_replica") is not None:
        qps = as_number(f"{where}.target_qps_per_replica", policy["target_qps_per_replica"])
        if qps <= 0:
            raise fail(f"{where}.target_qps_per_replica", qps, "a number above 0")
    elif high is not None and high > low:
        raise TaskSpecError(
            f"{where}.target_qps_per_replica: missing; autoscaling from min_replicas to "
            "max_replicas needs a target",
            field=f"{where}.target_qps_per_replica",
        )
    for key in ("upscale_delay_seconds", "downscale_delay_seconds"):
        if policy.get(key) is not None:
            as_number(f"{where}.{key}", policy[key], maximum=MAX_SECONDS)
    if policy.get("dynamic_ondemand_fallback") is not None:
        as_bool(f"{where}.dynamic_ondemand_fallback", policy["dynamic_ondemand_fallback"])
