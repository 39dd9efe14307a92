"""The ONE translation table from Kubernetes API failures to the Styx error taxonomy."""

from __future__ import annotations

import json

from styx.errors import (
    CredentialsError,
    InstanceNotFoundError,
    InvalidRequestError,
    ProviderError,
    QuotaError,
    TransientError,
)

PROVIDER = "kubernetes"

# HTTP status -> error class. 409 AlreadyExists never gets here: callers treat it as "done".
STATUS_TABLE: dict[int, type[ProviderError]] = {
    400: InvalidRequestError,
    401: CredentialsError,
    403: CredentialsError,  # RBAC says no; a ResourceQuota 403 is recognised by its message
    404: InstanceNotFoundError,
    409: TransientError,  # a conflicting concurrent update: try again
    410: TransientError,  # watch resourceVersion too old
    422: InvalidRequestError,
    429: TransientError,
}
QUOTA_MARKERS = ("exceeded quota", "forbidden: exceeded")


def _api_message(exc: object) -> tuple[str, str]:
    """(message, reason) from an ApiException's Status body, falling back to its reason text."""
    body = getattr(exc, "body", None)
    reason = str(getattr(exc, "reason", "") or "")
    if body:
        try:
            status = json.loads(body)
            return str(status.get("message") or reason), str(status.get("reason") or reason)
        except (ValueError, AttributeError):
            return str(body)[:300], reason
    return reason or str(exc), reason


def translate(exc: BaseException, region: str | None, action: str) -> ProviderError:
    """Map an SDK/transport exception raised while doing ``action`` into a Styx ProviderError."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError as Urllib3Error

    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        message, reason = _api_message(exc)
        code = f"{status} {reason}".strip()
        text = f"{action}: {message}"
        if status == 403 and any(m in message.lower() for m in QUOTA_MARKERS):
            cls: type[ProviderError] = QuotaError
        elif status == 0:
            cls = TransientError  # websocket/transport failure before any HTTP status
        else:
            cls = STATUS_TABLE.get(status, TransientError if status >= 500 else ProviderError)
        if cls is CredentialsError:
            text += " (refresh the kubeconfig credentials or check RBAC for this namespace)"
        return cls(text, provider=PROVIDER, region=region, native_code=code)
    if isinstance(exc, ConfigException):
        return CredentialsError(
            f"{action}: invalid kubeconfig: {exc}", provider=PROVIDER, region=region
        )
    if isinstance(exc, Urllib3Error | OSError | TimeoutError):
        return TransientError(
            f"{action}: cannot reach the API server: {exc}",
            provider=PROVIDER,
            region=region,
            native_code=type(exc).__name__,
        )
    return ProviderError(f"{action}: {exc}", provider=PROVIDER, region=region)
