"""GCE errors -> Styx taxonomy: the one table.

Errors reach us two ways: as HTTP errors (google.api_core exceptions whose ``errors[]`` carry a
``reason``) and as failed operations (``operation.error.errors[].code``, e.g. a stockout arrives
only after insert was accepted). Both go through :func:`classify`, keyed first by the GCE
code/reason, then by HTTP status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from styx.errors import (
    CapacityError,
    CredentialsError,
    InstanceNotFoundError,
    InvalidRequestError,
    ProviderError,
    QuotaError,
    Scope,
    TransientError,
)

PROVIDER = "gcp"

# GCE code or reason (lower-cased) -> (class, how much it blocks). Codes first: they are the
# most specific. The scope of a TransientError or InstanceNotFoundError blocks nothing.
CODE_TABLE: dict[str, tuple[type[ProviderError], Scope]] = {
    "zone_resource_pool_exhausted": (CapacityError, Scope.ZONE),
    "zone_resource_pool_exhausted_with_details": (CapacityError, Scope.ZONE),
    "stockout": (CapacityError, Scope.ZONE),
    "insufficientcapacity": (CapacityError, Scope.ZONE),
    "resource_availability": (CapacityError, Scope.ZONE),
    "quota_exceeded": (QuotaError, Scope.REGION),
    "quotaexceeded": (QuotaError, Scope.REGION),
    "ratelimitexceeded": (TransientError, Scope.ZONE),
    "userratelimitexceeded": (TransientError, Scope.ZONE),
    "resource_operation_rate_exceeded": (TransientError, Scope.ZONE),
    "backenderror": (TransientError, Scope.ZONE),
    "internalerror": (TransientError, Scope.ZONE),
    "internal_error": (TransientError, Scope.ZONE),
    "resource_not_ready": (TransientError, Scope.ZONE),
    "invalid": (InvalidRequestError, Scope.OFFER),
    "invalidparameter": (InvalidRequestError, Scope.OFFER),
    "badrequest": (InvalidRequestError, Scope.OFFER),
    "unsupported_operation": (InvalidRequestError, Scope.OFFER),
    "invalid_usage": (InvalidRequestError, Scope.OFFER),
    "forbidden": (CredentialsError, Scope.CLOUD),
    "autherror": (CredentialsError, Scope.CLOUD),
    "unauthorized": (CredentialsError, Scope.CLOUD),
    "accessnotconfigured": (CredentialsError, Scope.CLOUD),
}

# HTTP status -> (class, scope), when the code/reason is not in CODE_TABLE.
STATUS_TABLE: dict[int, tuple[type[ProviderError], Scope]] = {
    400: (InvalidRequestError, Scope.OFFER),
    401: (CredentialsError, Scope.CLOUD),
    403: (CredentialsError, Scope.CLOUD),
    404: (InstanceNotFoundError, Scope.ZONE),
    409: (InvalidRequestError, Scope.OFFER),
    429: (TransientError, Scope.ZONE),
    500: (TransientError, Scope.ZONE),
    502: (TransientError, Scope.ZONE),
    503: (TransientError, Scope.ZONE),
    504: (TransientError, Scope.ZONE),
}

# "Quota 'NVIDIA_T4_GPUS' exceeded.  Limit: 0.0 in region us-central1."
_QUOTA_METRIC = re.compile(r"Quota '([A-Z0-9_]+)' exceeded")
_URL_PREFIX = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ")
# Project-wide quotas: the family is out in every region, not just this one.
ALL_REGION_METRICS = {"GPUS_ALL_REGIONS", "CPUS_ALL_REGIONS"}


@dataclass(frozen=True)
class GCEError:
    """A GCE failure reduced to what classification needs."""

    code: str | None  # reason (HTTP) or operation error code
    message: str
    http_status: int | None = None


def classify(
    err: GCEError, *, region: str | None, zone: str | None, creating: bool = False
) -> ProviderError:
    """The Styx error for a GCE failure.

    ``creating``: on insert, a 404 means a bad machine type/image, not a gone instance.
    """
    rule = CODE_TABLE.get((err.code or "").lower())
    if rule is None and err.http_status is not None:
        rule = STATUS_TABLE.get(err.http_status)
        if err.http_status == 404 and creating:
            rule = (InvalidRequestError, Scope.OFFER)
    cls, scope = rule or (ProviderError, Scope.NONE)
    native = err.code or (f"HTTP {err.http_status}" if err.http_status else None)
    if cls is QuotaError:
        match = _QUOTA_METRIC.search(err.message)
        if match:
            native = f"QUOTA_EXCEEDED:{match.group(1)}"
            if match.group(1) in ALL_REGION_METRICS:
                scope = Scope.FAMILY
    message = err.message
    if cls is CredentialsError:
        message += (
            " (check the account's roles on the project, or run: gcloud auth "
            "application-default login)"
        )
    return cls(
        message,
        provider=PROVIDER,
        region=region,
        zone=None if scope in (Scope.REGION, Scope.FAMILY, Scope.CLOUD) else zone,
        native_code=native,
        scope=scope,
    )


def from_exception(exc: BaseException) -> GCEError | None:
    """Reduce an SDK/transport exception; None when it is not a GCE/HTTP failure."""
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    if isinstance(exc, gexc.GoogleAPICallError):
        reason = None
        for item in getattr(exc, "errors", None) or ():
            if isinstance(item, dict) and item.get("reason"):
                reason = str(item["reason"])
                break
        reason = reason or getattr(exc, "reason", None)
        status = int(exc.code) if isinstance(exc.code, int) else None
        # api_core prefixes "GET https://...: "; the CLI line reads better without it.
        message = _URL_PREFIX.sub("", exc.message or str(exc))
        return GCEError(reason, message, status)
    if isinstance(exc, auth_exc.DefaultCredentialsError | auth_exc.RefreshError):
        return GCEError("autherror", str(exc), 401)
    if isinstance(exc, auth_exc.TransportError):
        return GCEError(None, f"transport error: {exc}", 503)
    import requests

    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return GCEError(None, f"connection failed: {exc}", 503)
    return None


def operation_errors(op: object) -> list[GCEError]:
    """The errors of a finished compute_v1.Operation (empty when it succeeded)."""
    error = getattr(op, "error", None)
    items = list(getattr(error, "errors", None) or [])
    status = getattr(op, "http_error_status_code", 0) or None
    out = [GCEError(e.code or None, e.message or "operation failed", status) for e in items]
    if not out and status and status >= 400:
        out.append(GCEError(None, getattr(op, "http_error_message", "") or "failed", status))
    return out
