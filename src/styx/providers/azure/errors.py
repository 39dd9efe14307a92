"""ARM errors -> the Styx taxonomy, through ONE table, plus the bounded retry for transient ones.

ARM reports a failure two ways and both arrive here as ``HttpResponseError``: an immediate error
answer to the request (4xx/5xx with ``{"error": {"code", "message"}}``), or a long-running
operation whose final status is Failed (the same error body, raised by the poller).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from styx.errors import (
    CapacityError,
    CredentialsError,
    InstanceNotFoundError,
    InvalidRequestError,
    ProviderError,
    QuotaError,
    TransientError,
)
from styx.providers.sync import run_sync
from styx.retry import RetryPolicy, retry_transient

T = TypeVar("T")

# Native ARM error code -> Styx class. The one table for Azure.
ERROR_TABLE: dict[str, type[ProviderError]] = {
    # no capacity for this size in this region/zone right now: try another offer
    "SkuNotAvailable": CapacityError,
    "AllocationFailed": CapacityError,
    "ZonalAllocationFailed": CapacityError,
    "OverconstrainedAllocationRequest": CapacityError,
    "OverconstrainedZonalAllocationRequest": CapacityError,
    # quota: block this region for this family
    "QuotaExceeded": QuotaError,
    "OperationNotAllowed": QuotaError,  # only with a quota message, see _refine
    "SpotQuotaExceeded": QuotaError,
    "LowPriorityQuotaExceeded": QuotaError,
    # credentials: skip the provider, never retry
    "AuthorizationFailed": CredentialsError,
    "AuthenticationFailed": CredentialsError,
    "InvalidAuthenticationToken": CredentialsError,
    "InvalidAuthenticationTokenTenant": CredentialsError,
    "ExpiredAuthenticationToken": CredentialsError,
    "SubscriptionNotFound": CredentialsError,
    "ClientAuthenticationError": CredentialsError,
    "CredentialUnavailable": CredentialsError,
    # throttling and service-side trouble: retry with backoff
    "TooManyRequests": TransientError,
    "SubscriptionRequestsThrottled": TransientError,
    "RetryableError": TransientError,
    "AnotherOperationInProgress": TransientError,
    "InternalServerError": TransientError,
    "InternalExecutionError": TransientError,
    "ServiceUnavailable": TransientError,
    "GatewayTimeout": TransientError,
    "ServiceRequestError": TransientError,  # connection failures (azure-core)
    # the request itself is wrong for Azure: do not retry this offer
    "InvalidParameter": InvalidRequestError,
    "ImageNotFound": InvalidRequestError,
    "PlatformImageNotFound": InvalidRequestError,
    "InvalidResourceReference": InvalidRequestError,
    "InvalidTemplate": InvalidRequestError,
    "BadRequest": InvalidRequestError,
    "LocationNotAvailableForResourceType": InvalidRequestError,
    "NoRegisteredProviderFound": InvalidRequestError,
    # gone: callers that delete or look up treat this as "nothing there"
    "ResourceNotFound": InstanceNotFoundError,
    "ResourceGroupNotFound": InstanceNotFoundError,
    "NotFound": InstanceNotFoundError,
}

_QUOTA_WORDS = re.compile(r"quota|exceeding approved|Core(s)? limit", re.IGNORECASE)
_RETRY_AFTER_CAP_S = 30.0


def native_error(exc: BaseException) -> tuple[str | None, str, int | None]:
    """(ARM error code, message, HTTP status) from an azure-core exception."""
    status = getattr(exc, "status_code", None)
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None)
    message = getattr(err, "message", None)
    response = getattr(exc, "response", None)
    if code is None and response is not None:
        try:
            body = json.loads(response.text())
            inner = body.get("error", body)
            code, message = inner.get("code"), inner.get("message", message)
        except (ValueError, AttributeError, TypeError):
            pass
    if code is None:
        code = type(exc).__name__ if type(exc).__name__ != "HttpResponseError" else None
    return code, str(message or getattr(exc, "message", None) or exc).strip(), status


def _class_for(code: str | None, message: str, status: int | None) -> type[ProviderError]:
    cls = ERROR_TABLE.get(code or "")
    if code == "OperationNotAllowed" and not _QUOTA_WORDS.search(message):
        return InvalidRequestError  # e.g. "not allowed while the VM is being deleted"
    if cls is not None:
        return cls
    if status == 404:
        return InstanceNotFoundError
    if status in (401, 403):
        return CredentialsError
    if status == 429 or (status is not None and status >= 500):
        return TransientError
    return ProviderError


def translate(
    exc: BaseException, region: str | None = None, zone: str | None = None
) -> ProviderError:
    """The Styx error for ``exc``, keeping provider, region, zone and ARM's own code."""
    if isinstance(exc, ProviderError):
        return exc
    code, message, status = native_error(exc)
    cls = _class_for(code, message, status)
    first_line = message.splitlines()[0] if message else repr(exc)
    if cls is CredentialsError:
        first_line += "; fix: run 'az login' or set azure.access_token / a service principal"
    err = cls(first_line, provider="azure", region=region, zone=zone, native_code=code)
    err.__cause__ = exc
    return err


def retry_after_s(exc: BaseException) -> float | None:
    response = getattr(getattr(exc, "__cause__", None), "response", None)
    try:
        value = response.headers.get("Retry-After") if response is not None else None
        return min(float(value), _RETRY_AFTER_CAP_S) if value is not None else None
    except (TypeError, ValueError):
        return None


async def call(
    func: Callable[..., T],
    *args: Any,
    region: str | None = None,
    zone: str | None = None,
    attempts: int = 4,
    base_s: float = 1.0,
    **kwargs: Any,
) -> T:
    """Run a blocking SDK call off the loop; translate errors; retry TransientError (see
    :mod:`styx.retry`), waiting at least as long as ARM's Retry-After says."""

    async def once() -> T:
        try:
            return await run_sync(func, *args, **kwargs)
        except Exception as exc:
            raise translate(exc, region, zone) from exc

    policy = RetryPolicy(attempts=attempts, base_s=base_s, cap_s=base_s * 16)
    return await retry_transient(once, policy, hint_s=retry_after_s, what=f"azure {region or ''}")
