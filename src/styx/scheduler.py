"""Task -> placement -> provisioned instances, failing over across zones, regions and clouds.

Every failure is classified by its error class alone:

* CapacityError       block (provider, region, zone, instance type) for a while; next zone
* QuotaError          block (provider, region, instance family); next region
* CredentialsError    drop the whole provider for this launch
* InvalidRequestError block the offer; next offer
* TransientError      retry the same zone with jittered exponential backoff, bounded

Before each cloud call the instance ids about to be created are recorded as launch intents in
the state store, so a client killed at any point leaves nothing Styx cannot find again. Gangs
are all or nothing: a partial gang is terminated before moving on.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from styx.errors import (
    CapacityError,
    CredentialsError,
    FailoverAttempt,
    InvalidRequestError,
    ProviderError,
    QuotaError,
    ResourcesUnavailableError,
    StyxError,
    TransientError,
)
from styx.optimizer import Offer
from styx.providers.base import CloudProvider, ProvisionRequest
from styx.providers.instance import TAG_CLUSTER, TAG_OWNER, Instance
from styx.state.store import StateStore

CAPACITY_BLOCK_S = 600.0
QUOTA_BLOCK_S = 3600.0
INVALID_BLOCK_S = 3600.0
INTERRUPT_LANDING_S = 120.0  # how long Ctrl-C waits for an in-flight launch call to return


def instance_family(instance_type: str) -> str:
    """'p4d.24xlarge' -> 'p4d'; 'n2-standard-8' -> 'n2'; 'Standard_NC24ads_A100_v4' -> 'NC'."""
    if "." in instance_type:
        return instance_type.split(".", 1)[0]
    if instance_type.startswith("Standard_"):
        return "".join(c for c in instance_type[9:].split("_")[0] if c.isalpha() and c.isupper())
    return instance_type.split("-", 1)[0]


@dataclass
class BlockList:
    """Known-bad placements, persisted in the state store with a TTL."""

    store: StateStore | None
    ignore: bool = False
    _memory: dict[str, float] = field(default_factory=dict)

    def _keys(self, provider: str, region: str | None, zone: str | None, itype: str) -> list[str]:
        family = instance_family(itype)
        return [
            f"zone:{provider}/{region}/{zone}/{itype}",
            f"quota:{provider}/{region}/{family}",
            f"quota:{provider}/*/{family}",
            f"offer:{provider}/{region}/{itype}",
            f"cloud:{provider}",
        ]

    def is_blocked(self, provider: str, region: str | None, zone: str | None, itype: str) -> bool:
        if self.ignore:
            return False
        now = time.time()
        keys = self._keys(provider, region, zone, itype)
        if any(self._memory.get(k, 0) > now for k in keys):
            return True
        if self.store is None:
            return False
        return self.store.is_blocked(keys, now)

    def offer_blocked(self, offer: Offer) -> bool:
        zones = offer.zones or (None,)
        return all(
            self.is_blocked(offer.cloud, offer.region, z, offer.instance_type) for z in zones
        )

    def block(self, key: str, error: ProviderError, ttl_s: float, persist: bool = True) -> None:
        self._memory[key] = time.time() + ttl_s
        if persist and self.store is not None:
            self.store.block(key, error, ttl_s)


@dataclass
class ProvisionOutcome:
    offer: Offer
    zone: str | None
    instances: list[Instance]
    history: list[FailoverAttempt]


ProviderFactory = Callable[[str], CloudProvider]
Progress = Callable[[str], None]


class Scheduler:
    def __init__(
        self,
        store: StateStore,
        provider_factory: ProviderFactory,
        *,
        block_list: BlockList | None = None,
        progress: Progress | None = None,
        max_transient_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 8.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        keep_on_failure: bool = False,
    ) -> None:
        self.keep_on_failure = keep_on_failure
        self._quota_cache: dict[tuple[str, str, str, bool], float | None] = {}
        self.store = store
        self.provider_factory = provider_factory
        self.blocks = block_list or BlockList(store)
        self.progress = progress or (lambda _msg: None)
        self.max_transient_retries = max_transient_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.sleep = sleep

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff, capped."""
        return random.uniform(0, min(self.backoff_cap_s, self.backoff_base_s * 2**attempt))

    async def provision(
        self,
        offers: list[Offer],
        cluster_name: str,
        template: ProvisionRequest,
        num_nodes: int,
    ) -> ProvisionOutcome:
        tried: set[str] = set()
        try:
            return await self._provision(offers, cluster_name, template, num_nodes, tried)
        finally:
            providers = [self.provider_factory(name) for name in sorted(tried)]
            await asyncio.gather(
                *(p.release_unused(cluster_name) for p in providers), return_exceptions=True
            )

    async def _provision(
        self,
        offers: list[Offer],
        cluster_name: str,
        template: ProvisionRequest,
        num_nodes: int,
        tried: set[str],
    ) -> ProvisionOutcome:
        history: list[FailoverAttempt] = []
        disabled: set[str] = set()
        for offer in offers:
            if offer.cloud in disabled or self.blocks.offer_blocked(offer):
                continue
            zones: list[str | None] = list(offer.zones) or [None]
            for zone in zones:
                if offer.cloud in disabled:
                    break
                if self.blocks.is_blocked(offer.cloud, offer.region, zone, offer.instance_type):
                    continue
                tried.add(offer.cloud)
                try:
                    instances = await self._try(
                        offer, zone, cluster_name, template, num_nodes, history
                    )
                except CredentialsError:
                    disabled.add(offer.cloud)
                    break
                except (QuotaError, InvalidRequestError):
                    break  # the whole region/offer is out; next offer
                except (CapacityError, TransientError, ProviderError):
                    continue
                self.progress(f"launched on {_where(offer, zone)}")
                return ProvisionOutcome(offer, zone, instances, history)
        raise ResourcesUnavailableError(_summary(offers, history), history)

    async def _try(
        self,
        offer: Offer,
        zone: str | None,
        cluster_name: str,
        template: ProvisionRequest,
        num_nodes: int,
        history: list[FailoverAttempt],
    ) -> list[Instance]:
        provider = self.provider_factory(offer.cloud)
        await self._precheck_quota(provider, offer, zone, num_nodes, history)
        attempt = 0
        while True:
            request = _request_for(template, offer, zone)
            ids = [request.instance_id] + [
                request.for_rank(r).instance_id for r in range(1, num_nodes)
            ]
            self.progress(
                f"trying {_where(offer, zone)} ({offer.instance_type}"
                f"{', spot' if offer.use_spot else ''}, {num_nodes} node(s))"
            )
            self.store.record_intents(
                cluster_name, offer.cloud, offer.region, zone, offer.instance_type, ids
            )
            call = asyncio.ensure_future(provider.provision_many(request, num_nodes))
            try:
                instances = await asyncio.shield(call)
            except (KeyboardInterrupt, asyncio.CancelledError):
                # Ctrl-C mid-launch: take back what this attempt started, unless asked not to.
                # The cloud call may already be on the wire: let it land first, or its
                # instances would appear after the clean-up looked for them.
                if not self.keep_on_failure:
                    self.progress("interrupted: terminating what this launch started")
                    await self._land_and_cleanup(call, provider, cluster_name)
                raise
            except ProviderError as exc:
                await self._cleanup_partial(provider, cluster_name)
                history.append(_attempt(offer, zone, exc))
                self.progress(f"  {type(exc).__name__}: {exc}")
                if isinstance(exc, TransientError) and attempt < self.max_transient_retries:
                    await self.sleep(self.backoff(attempt))
                    attempt += 1
                    continue
                self._block(offer, zone, exc)
                raise
            except StyxError:
                await self._cleanup_partial(provider, cluster_name)
                raise
            return sorted(instances, key=lambda i: i.node_rank)

    async def _precheck_quota(
        self,
        provider: CloudProvider,
        offer: Offer,
        zone: str | None,
        num_nodes: int,
        history: list[FailoverAttempt],
    ) -> None:
        """Skip a region whose known quota cannot fit the request, without calling launch.

        Providers that can tell expose ``check_quota(region, instance_type, use_spot)`` whose
        result has ``free_vcpus`` (None when unknown: unknown means try).
        """
        check = getattr(provider, "check_quota", None)
        if check is None or offer.region is None:
            return
        key = (offer.cloud, offer.region, offer.instance_type, offer.use_spot)
        if key not in self._quota_cache:
            try:
                info = await check(offer.region, offer.instance_type, offer.use_spot)
            except ProviderError:
                info = None
            self._quota_cache[key] = getattr(info, "free_vcpus", None)
        free = self._quota_cache[key]
        needed = offer.vcpus * num_nodes
        if free is not None and free < needed:
            exc = QuotaError(
                f"vCPU quota leaves {free:g} free; {offer.instance_type} x{num_nodes} needs "
                f"{needed:g} (skipped without launching)",
                provider=offer.cloud,
                region=offer.region,
                zone=zone,
                native_code="QuotaPrecheck",
            )
            history.append(_attempt(offer, zone, exc))
            self.progress(f"  skipping {_where(offer, None)}: {exc.message}")
            self._block(offer, zone, exc)
            raise exc

    async def _land_and_cleanup(
        self, call: asyncio.Future[list[Instance]], provider: CloudProvider, cluster_name: str
    ) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(call), INTERRUPT_LANDING_S)
        except BaseException:  # noqa: BLE001 - whatever it did, the clean-up below runs
            pass
        await asyncio.shield(self._cleanup_partial(provider, cluster_name))

    async def _cleanup_partial(self, provider: CloudProvider, cluster_name: str) -> None:
        """Terminate anything the failed attempt left behind (verified through the provider)."""
        intents = [i for i in self.store.intents(cluster_name) if i["provider"] == provider.name]
        ids = [i["instance_id"] for i in intents]
        if not ids:
            return
        await asyncio.gather(*(provider.terminate(i) for i in ids), return_exceptions=True)
        self.store.clear_intents(ids)

    def _block(self, offer: Offer, zone: str | None, exc: ProviderError) -> None:
        family = instance_family(offer.instance_type)
        if isinstance(exc, CapacityError):
            key = f"zone:{offer.cloud}/{offer.region}/{zone}/{offer.instance_type}"
            self.blocks.block(key, exc, CAPACITY_BLOCK_S)
        elif isinstance(exc, QuotaError):
            region = exc.region if exc.region is not None or offer.region is None else offer.region
            region_key = (
                "*"
                if exc.region is None
                and exc.native_code
                and "ALL_REGIONS" in (exc.native_code or "")
                else region
            )
            self.blocks.block(f"quota:{offer.cloud}/{region_key}/{family}", exc, QUOTA_BLOCK_S)
        elif isinstance(exc, InvalidRequestError):
            key = f"offer:{offer.cloud}/{offer.region}/{offer.instance_type}"
            self.blocks.block(key, exc, INVALID_BLOCK_S)
        elif isinstance(exc, CredentialsError):
            # Credentials are fixed by the user, not by time: remember for this launch only.
            self.blocks.block(f"cloud:{offer.cloud}", exc, 0, persist=False)


def _request_for(template: ProvisionRequest, offer: Offer, zone: str | None) -> ProvisionRequest:
    from dataclasses import replace

    from styx.providers.instance import new_instance_id

    return replace(
        template,
        instance_type=offer.instance_type,
        region=offer.region,
        zone=zone,
        use_spot=offer.use_spot,
        instance_id=new_instance_id(),
        num_gpus=offer.accelerator_count,
        accelerator_name=offer.accelerator_name,
        tags={
            **template.tags,
            TAG_CLUSTER: template.cluster_name,
            TAG_OWNER: template.tags.get(TAG_OWNER, ""),
        },
    )


def _where(offer: Offer, zone: str | None) -> str:
    return "/".join(p for p in (offer.cloud, offer.region, zone) if p)


def _attempt(offer: Offer, zone: str | None, exc: ProviderError) -> FailoverAttempt:
    return FailoverAttempt(
        offer.cloud,
        offer.region,
        zone,
        offer.instance_type,
        offer.use_spot,
        type(exc).__name__,
        exc.native_code,
        exc.message,
    )


def _summary(offers: list[Offer], history: list[FailoverAttempt]) -> str:
    if not offers:
        return "no feasible offer"
    if not history:
        return "every feasible offer is blocked (see `styx status --blocked`, or --no-block-list)"
    last = history[-1]
    return (
        f"all {len(history)} attempt(s) failed; last: {last.provider}/{last.region or '-'}"
        f"/{last.zone or '-'} {last.instance_type}: {last.error_class} "
        f"[{last.native_code or '-'}] {last.message}"
    )
