"""Known-bad placements: typed keys, made from an error's scope, kept with a TTL.

A failure blocks exactly as much as its :class:`~styx.errors.Scope` says: a stockout one zone
for one instance type, a regional quota one instance family in one region, a project-wide quota
that family everywhere. Keys are dataclasses; ``None`` in a field matches every value. They are
kept in memory for the launch and persisted in the state store (one column per field), so the
next launch skips them too. Credentials failures are remembered for this launch only: the user
fixes those, not time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from styx.errors import ProviderError, Scope

if TYPE_CHECKING:
    from styx.optimizer import Offer
    from styx.state.store import StateStore

# How long each scope stays blocked. Capacity comes back within minutes; quotas and bad
# requests only when someone acts.
BLOCK_TTL_S: dict[Scope, float] = {
    Scope.ZONE: 600.0,
    Scope.OFFER: 3600.0,
    Scope.REGION: 3600.0,
    Scope.FAMILY: 3600.0,
    Scope.CLOUD: math.inf,  # this launch only: never persisted
}

FamilyOf = Callable[[str, str], str]  # (provider, instance type) -> instance family


@dataclass(frozen=True)
class Placement:
    """Where one launch attempt would go."""

    provider: str
    region: str | None
    zone: str | None
    instance_type: str


@dataclass(frozen=True)
class BlockKey:
    """A blocked set of placements. ``None`` in a field matches every value."""

    provider: str
    scope: Scope
    region: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    family: str | None = None

    def covers(self, where: Placement, family_of: FamilyOf) -> bool:
        if self.provider != where.provider:
            return False
        for mine, theirs in (
            (self.region, where.region),
            (self.zone, where.zone),
            (self.instance_type, where.instance_type),
        ):
            if mine is not None and mine != theirs:
                return False
        return self.family is None or self.family == family_of(where.provider, where.instance_type)

    def describe(self) -> str:
        """'aws/us-east-1/us-east-1a m5.large', 'gcp/*/a2 family', 'azure (whole provider)'."""
        if self.scope is Scope.CLOUD:
            return f"{self.provider} (whole provider)"
        where = "/".join([self.provider, self.region or "*", *([self.zone] if self.zone else [])])
        what = self.instance_type or (f"{self.family} family" if self.family else "any type")
        return f"{where} {what}"


@dataclass(frozen=True)
class BlockedEntry:
    """One active block as ``styx status --blocked`` shows it."""

    key: BlockKey
    error_class: str
    native_code: str | None
    reason: str | None
    expires_at: float

    def to_dict(self) -> dict[str, object]:
        k = self.key
        return {
            "blocked": k.describe(),
            "provider": k.provider,
            "scope": k.scope.value,
            "region": k.region,
            "zone": k.zone,
            "instance_type": k.instance_type,
            "family": k.family,
            "error_class": self.error_class,
            "native_code": self.native_code,
            "reason": self.reason,
            "expires_at": self.expires_at,
        }


def block_key(error: ProviderError, where: Placement, family_of: FamilyOf) -> BlockKey | None:
    """How much ``error`` (raised trying ``where``) blocks; None when it blocks nothing."""
    p, scope = where.provider, error.scope
    region = error.region or where.region
    if scope is Scope.ZONE:
        return BlockKey(p, scope, region, error.zone or where.zone, where.instance_type)
    if scope is Scope.OFFER:
        return BlockKey(p, scope, region, None, where.instance_type)
    if scope is Scope.REGION:
        return BlockKey(p, scope, region, family=family_of(p, where.instance_type))
    if scope is Scope.FAMILY:
        return BlockKey(p, scope, family=family_of(p, where.instance_type))
    if scope is Scope.CLOUD:
        return BlockKey(p, scope)
    return None


def provider_families(provider: str, instance_type: str) -> str:
    """The instance family by the provider's own naming rule (made only when a family-wide
    block exists for that provider, so checking the list imports no cloud SDK otherwise)."""
    from styx.placement import provider_factory
    from styx.providers.abilities import instance_family_of

    return instance_family_of(provider_factory()(provider), instance_type)


@dataclass
class BlockList:
    """Known-bad placements for a launch, backed by the state store.

    ``ignore`` (``--no-block-list``) disregards what earlier launches blocked; what fails during
    this launch is still blocked for the rest of it.
    """

    store: StateStore | None
    ignore: bool = False
    family_of: FamilyOf = provider_families
    _memory: dict[BlockKey, float] = field(default_factory=dict)
    _families: dict[tuple[str, str], str] = field(default_factory=dict)

    def _family(self, provider: str, instance_type: str) -> str:
        key = (provider, instance_type)
        if key not in self._families:
            self._families[key] = self.family_of(provider, instance_type)
        return self._families[key]

    def active(self, provider: str | None = None) -> list[BlockKey]:
        now = time.time()
        keys = {k: None for k, until in self._memory.items() if until > now}
        if self.store is not None and not self.ignore:  # --no-block-list: earlier launches'
            keys.update(dict.fromkeys(self.store.blocked_keys(provider, now)))
        return [k for k in keys if provider is None or k.provider == provider]

    def blocking(self, where: Placement, active: list[BlockKey] | None = None) -> BlockKey | None:
        """The key that blocks ``where``, if any (with ``ignore``, only this launch's).
        ``active``: the provider's keys when the caller already read them."""
        for key in self.active(where.provider) if active is None else active:
            if key.covers(where, self._family):
                return key
        return None

    def is_blocked(self, provider: str, region: str | None, zone: str | None, itype: str) -> bool:
        return self.blocking(Placement(provider, region, zone, itype)) is not None

    def offer_blocked(self, offer: Offer) -> bool:
        """Whether every zone of ``offer`` is blocked (the keys are read once per offer)."""
        active = self.active(offer.cloud)
        zones = offer.zones or (None,)
        return all(
            self.blocking(Placement(offer.cloud, offer.region, z, offer.instance_type), active)
            is not None
            for z in zones
        )

    def block_for(self, error: ProviderError, where: Placement) -> BlockKey | None:
        """Block what ``error`` rules out (nothing for Scope.NONE); return the key."""
        key = block_key(error, where, self._family)
        if key is None:
            return None
        ttl = BLOCK_TTL_S.get(key.scope, 0.0)
        self._memory[key] = time.time() + ttl
        if self.store is not None and math.isfinite(ttl):
            self.store.block(key, error, ttl)
        return key
