"""Resources -> feasible offers ranked by total hourly cost, offline, from the catalog.

An :class:`Offer` is one (cloud, region, instance type, spot) choice with the zones to try in
order. :func:`plan` returns every feasible offer, cheapest first; the scheduler tries them in
that order. Rules:

* **Clouds.** ``clouds`` is the set of enabled clouds (the caller decides from credentials);
  ``None`` means every catalog cloud (aws, gcp, azure) plus every cloud in ``inventories``.
  ``inventories`` (cloud -> region -> InstanceType) supplies live shapes for local, SSH pools and
  Kubernetes contexts, priced by their own ``price_per_hour`` (missing = 0, e.g. local).
* **Constraints.** ``cpus``/``memory`` follow :meth:`Quantity.admits` exactly (``4`` = exactly 4,
  ``4+`` = at least 4, memory ``4x`` = 4 GiB per vCPU). Accelerator names match
  case-insensitively and counts exactly. A request without accelerators never gets a GPU
  machine unless it names the ``instance_type``. ``use_spot`` selects spot prices only (rows
  without a spot market are dropped); otherwise on-demand. ``region``/``zone`` pin; a pinned
  zone leaves only that zone in ``Offer.zones``. ``max_hourly_cost`` caps the *total* price of
  the placement (``num_nodes`` x hourly price).
* **Default size.** A CPU-only request without an instance type gets SkyPilot's defaults on
  catalog clouds (:mod:`styx.catalog.defaults`): ``cpus: 8+`` when neither cpus nor memory is
  given, 4 GiB per vCPU when memory is not given, and only the current general/compute/memory
  families (never burstable types). Inventory clouds get no default, so on the local machine or
  a pool the smallest (cheapest, then fewest vCPUs) shape wins.
* **Alternatives.** Several accelerator candidates or ``any_of`` branches: all feasible offers
  merged and ranked by price (cheapest wins). ``ordered`` branches: offers grouped by branch in
  the user's order, each group ranked by price. An offer reachable from two branches is listed
  once, at its first (best) place.
* **Ranking and ties** (deterministic): total hourly price, then fewer vCPUs, then less memory,
  then cloud name, region, instance type, accelerator name and count, on-demand before spot.

Catalog offers are indexed once per process by (accelerator, count, spot) and by instance type,
each list pre-sorted by the ranking key, so a request filters a short pre-sorted list instead of
scanning the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from styx.errors import ResourcesUnavailableError
from styx.providers.registry import provider_names
from styx.resources import Resources

if TYPE_CHECKING:
    # Only for annotations: importing styx.providers pulls in asyncio (~50 ms), which a
    # dry run does not need.
    from styx.providers.instance import InstanceType

CATALOG_CLOUDS = provider_names(catalog=True)


@dataclass(frozen=True)
class Offer:
    """One placement choice: a machine shape in a region (zones to try, in order)."""

    cloud: str
    region: str | None
    instance_type: str
    use_spot: bool
    vcpus: float
    memory_gib: float
    accelerator_name: str | None
    accelerator_count: int
    hourly_price: float
    num_nodes: int = 1
    zones: tuple[str, ...] = ()
    accelerator_memory_gib: float | None = None
    on_demand_price: float | None = None  # for spot offers: what on-demand would cost

    @property
    def total_hourly_price(self) -> float:
        return self.hourly_price * self.num_nodes

    @property
    def accelerators(self) -> str | None:
        """``"A100:8"``, or None for a CPU-only machine."""
        if not self.accelerator_name:
            return None
        return f"{self.accelerator_name}:{self.accelerator_count}"


_Keyed = tuple[tuple, Offer]  # (ranking key, offer)


def _rank_key(o: Offer) -> tuple:
    return (
        o.hourly_price,
        o.vcpus,
        o.memory_gib,
        o.cloud,
        o.region or "",
        o.instance_type,
        (o.accelerator_name or "").lower(),
        o.accelerator_count,
        o.use_spot,
    )


def _derive(offer: Offer, num_nodes: int, zones: tuple[str, ...] | None) -> Offer:
    """A copy with another node count / zones. Bypasses the frozen-dataclass __init__ because
    this runs once per feasible offer on the hot path (about 10x cheaper than replace())."""
    new = object.__new__(Offer)
    new.__dict__.update(offer.__dict__)
    new.__dict__["num_nodes"] = num_nodes
    if zones is not None:
        new.__dict__["zones"] = zones
    return new


class _Index:
    """Offers of one cloud, bucketed and pre-sorted by the ranking key."""

    def __init__(self, cloud: str, offers: Iterable[Offer]) -> None:
        self.cloud = cloud
        self.by_acc: dict[tuple[str, int, bool], list[_Keyed]] = {}
        self.by_type: dict[tuple[str, bool], list[_Keyed]] = {}
        self.acc_names: dict[str, str] = {}  # lower -> canonical spelling
        self.zone_region: dict[str, str] = {}
        self.all: list[_Keyed] = []
        for o in offers:
            item = (_rank_key(o), o)
            self.all.append(item)
            acc = (o.accelerator_name or "").lower()
            if acc:
                self.acc_names.setdefault(acc, o.accelerator_name or acc)
            self.by_acc.setdefault((acc, o.accelerator_count, o.use_spot), []).append(item)
            self.by_type.setdefault((o.instance_type.lower(), o.use_spot), []).append(item)
            for z in o.zones:
                self.zone_region.setdefault(z, o.region or "")
        for bucket in (self.by_acc, self.by_type):
            for items in bucket.values():
                items.sort(key=_first)
        # A named instance type without accelerators means the plain machine: for GCP hosts
        # that also appear with attached GPUs, keep only the GPU-less rows.
        for key, items in self.by_type.items():
            plain = [it for it in items if not it[1].accelerator_count]
            if plain:
                self.by_type[key] = plain
        self.all.sort(key=_first)

    def pool(self, r: Resources) -> list[_Keyed]:
        if r.accelerators:
            name, count = r.accelerators[0]
            items = self.by_acc.get((name.lower(), count, r.use_spot), [])
            if r.instance_type:
                wanted = r.instance_type.lower()
                items = [it for it in items if it[1].instance_type.lower() == wanted]
            return items
        if r.instance_type:
            return self.by_type.get((r.instance_type.lower(), r.use_spot), [])
        return self.by_acc.get(("", 0, r.use_spot), [])


def _first(item: _Keyed) -> tuple:
    return item[0]


def _offers_from_catalog(cloud: str) -> list[Offer]:
    from styx import catalog

    out = []
    for row in catalog.load(cloud).rows:
        base = Offer(
            cloud,
            row.region,
            row.instance_type,
            False,
            row.vcpus,
            row.memory_gib,
            row.accelerator_name,
            row.accelerator_count,
            row.price,
            1,
            row.zones,
            row.accelerator_memory_gib,
            row.price,
        )
        out.append(base)
        if row.spot_price is not None:
            out.append(replace(base, use_spot=True, hourly_price=row.spot_price))
    return out


def _offers_from_inventory(cloud: str, regions: dict[str, list[InstanceType]]) -> list[Offer]:
    out = []
    for region, types in regions.items():
        for t in types:
            price = t.price_per_hour or 0.0
            base = Offer(
                cloud,
                t.region or region,
                t.name,
                False,
                t.vcpus,
                t.memory_gib,
                t.accelerator_name,
                t.accelerator_count,
                price,
                1,
                t.zones,
                t.accelerator_memory_gib,
                price,
            )
            out.append(base)
            if t.spot_price_per_hour is not None:
                out.append(replace(base, use_spot=True, hourly_price=t.spot_price_per_hour))
    return out


_CATALOG_INDEX: dict[str, tuple[object, _Index]] = {}


def _catalog_index(cloud: str) -> _Index:
    from styx import catalog

    current = catalog.load(cloud)  # cached by the catalog module; identity says if it changed
    cached = _CATALOG_INDEX.get(cloud)
    if cached is None or cached[0] is not current:
        cached = (current, _Index(cloud, _offers_from_catalog(cloud)))
        _CATALOG_INDEX[cloud] = cached
    return cached[1]


class _Context:
    """The enabled clouds and their indexes for one request."""

    def __init__(
        self,
        clouds: Iterable[str] | None,
        inventories: dict[str, dict[str, list[InstanceType]]] | None,
    ) -> None:
        inventories = inventories or {}
        enabled = list(clouds) if clouds is not None else [*CATALOG_CLOUDS, *inventories]
        self.enabled: list[str] = list(dict.fromkeys(enabled))
        self.indexes: dict[str, _Index] = {}
        for cloud in self.enabled:
            if cloud in inventories:
                offers = _offers_from_inventory(cloud, inventories[cloud])
                self.indexes[cloud] = _Index(cloud, offers)
            elif cloud in CATALOG_CLOUDS:
                self.indexes[cloud] = _catalog_index(cloud)
        self.inventory_clouds = {c for c in self.indexes if c in inventories}


def _with_default(r: Resources, inventory: bool) -> Resources:
    from styx.catalog import defaults

    return r if inventory else defaults.sized(r)


def _feasible(r: Resources, num_nodes: int, ctx: _Context) -> list[_Keyed]:
    """Feasible offers for one single-choice candidate, as (key, offer), unsorted across clouds."""
    from styx.catalog.defaults import applies, in_default_family

    out: list[_Keyed] = []
    budget = r.max_hourly_cost / num_nodes if r.max_hourly_cost is not None else None
    sized = _with_default(r, inventory=False)
    default_family = applies(r)
    for cloud, index in ctx.indexes.items():
        if r.cloud and r.cloud != cloud:
            continue
        inventory = cloud in ctx.inventory_clouds
        c = r if inventory else sized
        cpus, memory, region, zone = c.cpus, c.memory, c.region, c.zone
        for key, o in index.pool(c):
            if budget is not None and o.hourly_price > budget + 1e-9:
                break  # the pool is sorted by price: nothing further fits the budget
            if region and o.region != region:
                continue
            if zone and zone not in o.zones:
                continue
            if cpus and not cpus.admits(o.vcpus):
                continue
            if memory and not memory.admits(o.memory_gib, o.vcpus):
                continue
            # Last: the family rule is the costliest check (cached per type, but still a call).
            if default_family and not inventory and not in_default_family(cloud, o.instance_type):
                continue
            if num_nodes != 1 or zone:
                o = _derive(o, num_nodes, (zone,) if zone else None)
            out.append((key, o))
    return out


def _identity(o: Offer) -> tuple:
    return (o.cloud, o.region, o.instance_type, o.use_spot, o.accelerator_name, o.accelerator_count)


def plan(
    resources: Resources,
    num_nodes: int = 1,
    *,
    clouds: Iterable[str] | None = None,
    inventories: dict[str, dict[str, list[InstanceType]]] | None = None,
    is_blocked: Callable[[Offer], bool] | None = None,
) -> list[Offer]:
    """Feasible offers, cheapest first (see the module docstring for every rule). Returns []
    when nothing fits; :func:`explain_infeasible` says why, :func:`plan_or_raise` raises."""
    ctx = _Context(clouds, inventories)
    if resources.ordered:
        groups = []
        for branch in resources.ordered:
            items: list[_Keyed] = []
            for cand in branch.candidates():
                items.extend(_feasible(cand, num_nodes, ctx))
            items.sort(key=_first)
            groups.extend(items)
    else:
        groups = []
        for cand in resources.candidates():
            groups.extend(_feasible(cand, num_nodes, ctx))
        groups.sort(key=_first)
    seen: set[tuple] = set()
    offers: list[Offer] = []
    single = len(resources.candidates()) == 1
    for _, o in groups:
        if not single:
            ident = _identity(o)
            if ident in seen:
                continue
            seen.add(ident)
        if is_blocked is not None and is_blocked(o):
            continue
        offers.append(o)
    return offers


def plan_or_raise(
    resources: Resources,
    num_nodes: int = 1,
    *,
    clouds: Iterable[str] | None = None,
    inventories: dict[str, dict[str, list[InstanceType]]] | None = None,
    is_blocked: Callable[[Offer], bool] | None = None,
) -> list[Offer]:
    """Like :func:`plan`, but raise ResourcesUnavailableError saying which constraint ruled
    everything out when nothing is feasible."""
    offers = plan(
        resources, num_nodes, clouds=clouds, inventories=inventories, is_blocked=is_blocked
    )
    if not offers:
        raise ResourcesUnavailableError(
            explain_infeasible(resources, num_nodes, clouds, inventories, is_blocked=is_blocked)
        )
    return offers


def explain_infeasible(
    resources: Resources,
    num_nodes: int = 1,
    clouds: Iterable[str] | None = None,
    inventories: dict[str, dict[str, list[InstanceType]]] | None = None,
    *,
    is_blocked: Callable[[Offer], bool] | None = None,
) -> str:
    """One line naming the constraint that ruled out every offer, per candidate."""
    from styx.catalog.explain import explain_candidate

    ctx = _Context(clouds, inventories)
    reasons: list[str] = []
    for cand in resources.candidates():
        reason = explain_candidate(cand, num_nodes, ctx, is_blocked)
        if reason not in reasons:
            reasons.append(reason)
    return "; ".join(reasons)
