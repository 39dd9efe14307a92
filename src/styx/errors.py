"""The Styx exception taxonomy.

Everything Styx raises on purpose derives from :class:`StyxError`. The CLI prints ``str(error)``
on one line and exits non-zero, so every message must stand on its own: say what was wrong,
with which value, and what was expected. SDK errors are translated into these classes at the
provider boundary (one table per provider), so that the scheduler branches on the class alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class StyxError(Exception):
    """Root of every error Styx raises deliberately."""

    exit_code: int = 1


class TaskSpecError(StyxError):
    """A task file or command-line value is invalid.

    ``field`` is the dotted path of the offending field (``resources.cpus``); the message names
    the value and what was expected.
    """

    exit_code = 2

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Scope(Enum):
    """How much of a provider one failure rules out: the scheduler blocks exactly this much.

    Set by each provider's translation table (the cloud's code says it: a stockout is one zone,
    a regional quota one family in one region, GCE's GPUS_ALL_REGIONS every region). Each class
    below has a default; a table overrides it where the cloud is more precise.
    """

    NONE = "none"  # nothing to remember: the provider knows its capacity exactly (local)
    ZONE = "zone"  # this instance type in this zone
    OFFER = "offer"  # this instance type in this region (the request is wrong for it)
    REGION = "region"  # this instance family in this region (a regional quota)
    FAMILY = "family"  # this instance family in every region (a global quota)
    CLOUD = "cloud"  # the whole provider (credentials)


class ProviderError(StyxError):
    """A cloud or provider call failed. Carries where it happened, the cloud's own code and
    the failure's :class:`Scope` (``None``: the class default, see ``default_scope``)."""

    default_scope: Scope = Scope.NONE

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        region: str | None = None,
        zone: str | None = None,
        native_code: str | None = None,
        scope: Scope | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.region = region
        self.zone = zone
        self.native_code = native_code
        self.scope = scope if scope is not None else self.default_scope

    def __str__(self) -> str:
        where = "/".join(p for p in (self.provider, self.region, self.zone) if p)
        code = f" [{self.native_code}]" if self.native_code else ""
        return f"{where}: {self.message}{code}" if where else f"{self.message}{code}"


class CredentialsError(ProviderError):
    """Credentials are missing or invalid, or the SDK is not installed. Never retried."""

    default_scope = Scope.CLOUD


class CapacityError(ProviderError):
    """The zone (or machine) has no capacity for this request right now. Try another zone."""

    default_scope = Scope.ZONE


class QuotaError(ProviderError):
    """A quota blocks the request in this region (for this instance family)."""

    default_scope = Scope.REGION


class TransientError(ProviderError):
    """Throttling, 5xx or a timeout: the same call may succeed after a backoff."""


class InvalidRequestError(ProviderError):
    """The request itself is wrong for this provider (bad type, image, parameter)."""

    default_scope = Scope.OFFER


class InstanceNotFoundError(ProviderError):
    """The named instance does not exist (or no longer exists)."""


class UnsupportedError(ProviderError):
    """The provider cannot do this at all (for example stopping a Kubernetes pod)."""


@dataclass
class FailoverAttempt:
    """One try of one offer, kept for the failover history shown to the user."""

    provider: str
    region: str | None
    zone: str | None
    instance_type: str
    use_spot: bool
    error_class: str
    native_code: str | None
    message: str


class ResourcesUnavailableError(StyxError):
    """No offer could be provisioned (or none was feasible at all)."""

    def __init__(self, message: str, history: list[FailoverAttempt] | None = None) -> None:
        super().__init__(message)
        self.history: list[FailoverAttempt] = history or []


class ClusterError(StyxError):
    """A cluster is missing, busy, or in a state that forbids the operation."""

    def __init__(self, message: str, cluster: str | None = None, node: str | None = None) -> None:
        super().__init__(message)
        self.cluster = cluster
        self.node = node


class ClusterNotFoundError(ClusterError):
    """No cluster of that name is known."""


class JobError(StyxError):
    """A job failed or cannot be found. ``exit_code`` is the job's own when it has one."""

    def __init__(
        self,
        message: str,
        cluster: str | None = None,
        job_id: int | None = None,
        node: str | None = None,
        returncode: int | None = None,
    ) -> None:
        super().__init__(message)
        self.cluster = cluster
        self.job_id = job_id
        self.node = node
        self.returncode = returncode
        if returncode:
            self.exit_code = returncode if 0 < returncode < 256 else 1


class StorageError(StyxError):
    """A bucket is missing, unreachable or forbidden, or a mount failed on a node.

    The message names the mount or bucket; ``bucket`` is its URL when known.
    """

    def __init__(self, message: str, bucket: str | None = None) -> None:
        super().__init__(message)
        self.bucket = bucket
