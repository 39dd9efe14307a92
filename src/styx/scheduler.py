"""Task -> placement -> provisioned instances, failing over across zones, regions and clouds.

Every failure is classified by its error class and its scope (set by the provider's table):

* CapacityError       block what its scope says (usually this zone and type); next zone
* QuotaError          block the instance family in the region (or everywhere); next offer
* CredentialsError    drop the whole provider for this launch
* InvalidRequestError block the offer; next offer
* TransientError      the provider already retried the call (styx.retry, the only layer that
                      retries it); next zone, nothing blocked

An error whose scope is NONE blocks nothing (the local machine knows its capacity exactly).
Each zone tried gets a fresh instance id; the provider's own retries of a call reuse it.

Before each cloud call the instance ids about to be created are recorded as launch intents in
the state store, so a client killed at any point leaves nothing Styx cannot find again. Gangs
are all or nothing: a partial gang is terminated before moving on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from styx.blocklist import BlockList, Placement
from styx.errors import (
    CredentialsError,
    FailoverAttempt,
    ProviderError,
    QuotaError,
    ResourcesUnavailableError,
    Scope,
    StyxError,
)
from styx.optimizer import Offer
from styx.providers.abilities import QuotaInfo, QuotaLookup
from styx.providers.base import CloudProvider, ProvisionRequest
from styx.providers.instance import TAG_CLUSTER, TAG_OWNER, Instance
from styx.state.store import StateStore

__all__ = ["BlockList", "ProvisionOutcome", "Scheduler"]

INTERRUPT_LANDING_S = 120.0  # how long Ctrl-C waits for an in-flight launch call to return
# After a failure of one of these scopes the rest of the offer's zones are out too.
_WHOLE_OFFER = {Scope.OFFER, Scope.REGION, Scope.FAMILY, Scope.CLOUD}


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
        keep_on_failure: bool = False,
    ) -> None:
        self.keep_on_failure = keep_on_failure
        self._quota_cache: dict[tuple[str, str, str, bool], QuotaInfo | None] = {}
        self.store = store
        self.provider_factory = provider_factory
        self.blocks = block_list or BlockList(store, family_of=self._family)
        self.progress = progress or (lambda _msg: None)

    def _family(self, provider: str, instance_type: str) -> str:
        from styx.providers.abilities import instance_family_of

        return instance_family_of(self.provider_factory(provider), instance_type)

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
        skipped = 0  # zones passed over because an earlier failure blocked them
        for offer in offers:
            zones: list[str | None] = list(offer.zones) or [None]
            for zone in zones:
                where = Placement(offer.cloud, offer.region, zone, offer.instance_type)
                if self.blocks.blocking(where) is not None:
                    skipped += 1
                    continue
                tried.add(offer.cloud)
                try:
                    instances = await self._try(
                        offer, zone, cluster_name, template, num_nodes, history
                    )
                except ProviderError as exc:
                    if isinstance(exc, CredentialsError) or exc.scope in _WHOLE_OFFER:
                        break  # the rest of this offer is out too (blocked for later offers)
                    continue
                self.progress(f"launched on {_where(offer, zone)}")
                return ProvisionOutcome(offer, zone, instances, history)
        raise ResourcesUnavailableError(_summary(offers, history, skipped), history)

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
        request = _request_for(template, offer, zone)
        ids = [request.instance_id] + [request.for_rank(r).instance_id for r in range(1, num_nodes)]
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

        Asked once per (region, type, market) and launch; an unknown quota, or a lookup that
        fails, means try.
        """
        if not isinstance(provider, QuotaLookup) or offer.region is None:
            return
        key = (offer.cloud, offer.region, offer.instance_type, offer.use_spot)
        if key not in self._quota_cache:
            try:
                info: QuotaInfo | None = await provider.quota(
                    offer.region, offer.instance_type, offer.use_spot
                )
            except ProviderError:
                info = None
            self._quota_cache[key] = info
        info = self._quota_cache[key]
        if info is None or info.fits(num_nodes) is not False:
            return
        exc = QuotaError(
            f"{info.describe(num_nodes)} (skipped without launching)",
            provider=offer.cloud,
            region=offer.region,
            native_code="QuotaPrecheck",
            scope=Scope.REGION,
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
        where = Placement(offer.cloud, offer.region, zone, offer.instance_type)
        self.blocks.block_for(exc, where)


def _request_for(template: ProvisionRequest, offer: Offer, zone: str | None) -> ProvisionRequest:
    """The request for one zone, with a fresh instance id (another zone is another request)."""
    from dataclasses import replace

    from styx.container.image import node_image
    from styx.providers.instance import new_instance_id
    from styx.providers.registry import image_is_node

    return replace(
        template,
        # docker:<image> is a pod's image on Kubernetes; a VM boots its default image instead.
        image_id=node_image(template.image_id, image_is_node(offer.cloud)),
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


def _summary(offers: list[Offer], history: list[FailoverAttempt], skipped: int = 0) -> str:
    blocked = (
        f"{skipped} placement(s) skipped as blocked by earlier failures "
        "(see `styx status --blocked`, or launch with --no-block-list)"
    )
    if not offers:
        return "no feasible offer"
    if not history:
        return f"every feasible offer is blocked: {blocked}" if skipped else "no offer was tried"
    last = history[-1]
    text = (
        f"all {len(history)} attempt(s) failed; last: {last.provider}/{last.region or '-'}"
        f"/{last.zone or '-'} {last.instance_type}: {last.error_class} "
        f"[{last.native_code or '-'}] {last.message}"
    )
    return f"{text}; {blocked}" if skipped else text
