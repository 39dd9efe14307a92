"""The one table that turns EC2/botocore errors into the Styx taxonomy.

Every SDK exception leaves the provider through :func:`translate`; the scheduler branches on the
class alone, and the native code, region and zone ride along for the failover history.
"""

from __future__ import annotations

import botocore.exceptions as bce

from styx.errors import (
    CapacityError,
    CredentialsError,
    InstanceNotFoundError,
    InvalidRequestError,
    ProviderError,
    QuotaError,
    TransientError,
    UnsupportedError,
)

PROVIDER = "aws"
CREDENTIALS_FIX = (
    "configure AWS credentials: run 'aws configure', or set AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
)

# Native EC2 code -> Styx class. A key ending in '*' matches every code with that prefix
# (InvalidAMIID.NotFound, InvalidAMIID.Malformed, ...). Exact keys win over prefixes.
ERROR_TABLE: dict[str, type[ProviderError]] = {
    # No room in this zone right now: block the zone/offer, try the next one.
    "InsufficientInstanceCapacity": CapacityError,
    "InsufficientHostCapacity": CapacityError,
    "InsufficientReservedInstanceCapacity": CapacityError,
    "InsufficientCapacityOnHost": CapacityError,
    "InsufficientFreeAddressesInSubnet": CapacityError,
    # 'Unsupported' is what EC2 says when a type is not offered in the requested zone.
    "Unsupported": CapacityError,
    "SpotMaxPriceTooLow": CapacityError,
    # Account limits: block the region for this family.
    "VcpuLimitExceeded": QuotaError,
    "InstanceLimitExceeded": QuotaError,
    "MaxSpotInstanceCountExceeded": QuotaError,
    "PendingVerification": QuotaError,
    # Who we are is wrong: never retry, skip the provider.
    "AuthFailure": CredentialsError,
    "UnauthorizedOperation": CredentialsError,
    "InvalidClientTokenId": CredentialsError,
    "ExpiredToken": CredentialsError,
    "RequestExpired": CredentialsError,
    "SignatureDoesNotMatch": CredentialsError,
    "AccessDenied": CredentialsError,
    "AccessDeniedException": CredentialsError,
    "OptInRequired": CredentialsError,
    "Blocked": CredentialsError,
    # Try again after a jittered backoff.
    "RequestLimitExceeded": TransientError,
    "Throttling": TransientError,
    "ThrottlingException": TransientError,
    "RequestThrottled": TransientError,
    "InternalError": TransientError,
    "InternalFailure": TransientError,
    "ServiceUnavailable": TransientError,
    "Unavailable": TransientError,
    "IncorrectInstanceState": TransientError,
    # The request is wrong for this offer: do not retry it.
    "InvalidInstanceType": InvalidRequestError,
    "InvalidInstanceType*": InvalidRequestError,
    "InvalidAMIID*": InvalidRequestError,
    "InvalidParameter*": InvalidRequestError,
    "InvalidKeyPair*": InvalidRequestError,
    "InvalidSubnet*": InvalidRequestError,
    "InvalidVpc*": InvalidRequestError,
    "InvalidGroup*": InvalidRequestError,
    "InvalidBlockDeviceMapping": InvalidRequestError,
    "InvalidAvailabilityZone": InvalidRequestError,
    "MissingParameter": InvalidRequestError,
    "UnsupportedOperation": UnsupportedError,
    "InvalidInstanceID*": InstanceNotFoundError,
}

# botocore's own exceptions (no HTTP answer at all) -> Styx class.
_CREDENTIAL_EXCEPTIONS = (
    bce.NoCredentialsError,
    bce.PartialCredentialsError,
    bce.CredentialRetrievalError,
    bce.ProfileNotFound,
    bce.NoRegionError,
    bce.TokenRetrievalError,
    bce.SSOError,
)
_TRANSIENT_EXCEPTIONS = (
    bce.EndpointConnectionError,
    bce.ConnectTimeoutError,
    bce.ReadTimeoutError,
    bce.ConnectionClosedError,
)


def error_class(code: str, http_status: int | None = None) -> type[ProviderError]:
    """The Styx class for a native EC2 code (5xx without a known code is transient)."""
    if code in ERROR_TABLE:
        return ERROR_TABLE[code]
    prefixes = [k[:-1] for k in ERROR_TABLE if k.endswith("*") and code.startswith(k[:-1])]
    if prefixes:
        return ERROR_TABLE[max(prefixes, key=len) + "*"]
    if http_status is not None and http_status >= 500:
        return TransientError
    return ProviderError


def translate(
    exc: BaseException, *, region: str | None, zone: str | None = None, op: str = ""
) -> ProviderError:
    """Turn any exception from a boto3 call into a ProviderError subclass."""
    if isinstance(exc, ProviderError):
        return exc
    where = {"provider": PROVIDER, "region": region, "zone": zone}
    prefix = f"{op}: " if op else ""
    if isinstance(exc, bce.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "Unknown")
        message = str(err.get("Message") or exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        cls = error_class(code, status)
        if cls is CredentialsError:
            message = f"{message}; {CREDENTIALS_FIX}"
        return cls(prefix + message, native_code=code, **where)
    if isinstance(exc, _CREDENTIAL_EXCEPTIONS):
        fix = (
            "set AWS_DEFAULT_REGION or add 'regions' to the aws section of config.yaml"
            if isinstance(exc, bce.NoRegionError)
            else CREDENTIALS_FIX
        )
        return CredentialsError(f"{prefix}{exc}; {fix}", native_code=type(exc).__name__, **where)
    if isinstance(exc, _TRANSIENT_EXCEPTIONS):
        return TransientError(f"{prefix}{exc}", native_code=type(exc).__name__, **where)
    return ProviderError(f"{prefix}{exc}", native_code=type(exc).__name__, **where)
