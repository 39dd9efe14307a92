"""google-cloud-compute clients for one project, and the one place SDK calls are made.

Every blocking call runs through run_sync, is retried (bounded, jittered) on TransientError and
leaves as a Styx error (errors.classify). Operations are awaited here with zone/global
``operations.wait`` rather than ExtendedOperation.result(): result() polls through an operations
client the SDK builds itself, without our client_options (endpoint override), and hides the
per-error codes (ZONE_RESOURCE_POOL_EXHAUSTED, QUOTA_EXCEEDED) that classification needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from styx.errors import ProviderError, TransientError
from styx.providers.gcp import errors as gerr
from styx.providers.gcp.auth import ResolvedAuth
from styx.providers.gcp.settings import GCPSettings
from styx.providers.sync import run_sync
from styx.retry import RetryPolicy, retry_transient

T = TypeVar("T")
# zoneOperations.wait holds a request up to ~2 minutes server-side; the timeout must exceed it.
WAIT_HTTP_TIMEOUT_S = 150.0


class GCEApi:
    """Clients plus call/wait helpers. Build with :meth:`create` (blocking)."""

    def __init__(self, settings: GCPSettings, auth: ResolvedAuth) -> None:
        from google.api_core.client_options import ClientOptions
        from google.cloud import compute_v1

        self.settings = settings
        self.project = auth.project
        self.account = auth.account
        opts = ClientOptions(api_endpoint=settings.api_endpoint) if settings.api_endpoint else None
        kw: dict[str, Any] = {"credentials": auth.credentials, "transport": "rest"}
        if opts is not None:
            kw["client_options"] = opts
        self.compute = compute_v1
        self.instances = compute_v1.InstancesClient(**kw)
        self.zones = compute_v1.ZonesClient(**kw)
        self.regions = compute_v1.RegionsClient(**kw)
        self.machine_types = compute_v1.MachineTypesClient(**kw)
        self.accelerator_types = compute_v1.AcceleratorTypesClient(**kw)
        self.firewalls = compute_v1.FirewallsClient(**kw)
        self.zone_ops = compute_v1.ZoneOperationsClient(**kw)
        self.global_ops = compute_v1.GlobalOperationsClient(**kw)
        # Should anything call ExtendedOperation.result(), make it poll our endpoint too.
        self.instances._transport._extended_operations_services["zone_operations"] = self.zone_ops
        self.firewalls._transport._extended_operations_services["global_operations"] = (
            self.global_ops
        )

    def close(self) -> None:
        for client in (
            self.instances,
            self.zones,
            self.regions,
            self.machine_types,
            self.accelerator_types,
            self.firewalls,
            self.zone_ops,
            self.global_ops,
        ):
            try:
                client.transport.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    # ---- calls ---------------------------------------------------------------------------

    async def call(
        self,
        fn: Callable[[], T],
        *,
        region: str | None = None,
        zone: str | None = None,
        creating: bool = False,
        tolerate: tuple[int, ...] = (),
    ) -> T | None:
        """Run ``fn`` in a thread; retry transient failures (see :mod:`styx.retry`); None for a
        ``tolerate``d status."""

        async def once() -> T | None:
            try:
                return await run_sync(fn)
            except Exception as exc:  # every SDK failure is translated below
                reduced = gerr.from_exception(exc)
                if reduced is None:
                    raise
                if reduced.http_status in tolerate:
                    return None
                raise gerr.classify(reduced, region=region, zone=zone, creating=creating) from exc

        s = self.settings
        policy = RetryPolicy(s.max_attempts, s.retry_base_s, s.retry_cap_s)
        return await retry_transient(once, policy, what=f"gcp {zone or region or ''}")

    async def must(self, fn: Callable[[], T], **kw: Any) -> T:
        result = await self.call(fn, **kw)
        assert result is not None  # only None when a status is tolerated
        return result

    @property
    def http_timeout(self) -> float:
        return self.settings.http_timeout_s

    # ---- operations ----------------------------------------------------------------------

    async def wait_zone_op(
        self, op: Any, *, zone: str, region: str | None, creating: bool = False
    ) -> None:
        """Wait until the zone operation is DONE; raise its first error as a Styx error."""

        def wait() -> Any:
            return self.zone_ops.wait(
                project=self.project,
                zone=zone,
                operation=op.name,
                retry=None,
                timeout=WAIT_HTTP_TIMEOUT_S,
            )

        await self._wait(op, wait, zone=zone, region=region, creating=creating)

    async def wait_global_op(self, op: Any) -> None:
        def wait() -> Any:
            return self.global_ops.wait(
                project=self.project, operation=op.name, retry=None, timeout=WAIT_HTTP_TIMEOUT_S
            )

        await self._wait(op, wait, zone=None, region=None, creating=True)

    async def _wait(
        self,
        op: Any,
        wait: Callable[[], Any],
        *,
        zone: str | None,
        region: str | None,
        creating: bool,
    ) -> None:
        done = self.compute.Operation.Status.DONE
        deadline = time.monotonic() + self.settings.operation_timeout_s
        while op.status != done:
            if time.monotonic() > deadline:
                raise TransientError(
                    f"operation {op.name} not done after {self.settings.operation_timeout_s:g}s",
                    provider=gerr.PROVIDER,
                    region=region,
                    zone=zone,
                    native_code="TIMEOUT",
                )
            op = await self.must(wait, region=region, zone=zone)
        failures = gerr.operation_errors(op)
        if failures:
            raise _with_details(
                gerr.classify(failures[0], region=region, zone=zone, creating=creating), failures
            )


def _with_details(err: ProviderError, failures: list[gerr.GCEError]) -> ProviderError:
    if len(failures) > 1:
        err.message += "; " + "; ".join(f"{f.code}: {f.message}" for f in failures[1:])
        err.args = (err.message,)
    return err
