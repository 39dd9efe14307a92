"""Why no offer fits: the constraints of one candidate applied one at a time, in the order a
user thinks about them, and the first one that empties the set is named, with what *is*
offered instead (the largest count, the regions that have it, the cheapest price...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from styx.resources import Quantity, Resources
from styx.spec import did_you_mean

if TYPE_CHECKING:
    from styx.optimizer import Offer, _Context


def _names(offers: list[Offer], limit: int = 3) -> str:
    seen: list[str] = []
    for o in offers:
        if o.instance_type not in seen:
            seen.append(o.instance_type)
    return ", ".join(seen[:limit])


def _where(r: Resources, ctx: _Context) -> str:
    if r.cloud:
        return r.cloud
    return "any enabled cloud" if len(ctx.enabled) != 1 else ctx.enabled[0]


def explain_candidate(
    r: Resources, num_nodes: int, ctx: _Context, is_blocked: Callable[[Offer], bool] | None
) -> str:
    from styx.optimizer import _derive, _with_default

    if not ctx.indexes:
        return "no cloud is enabled (configure credentials for aws, gcp or azure, or use local)"
    if r.cloud and r.cloud not in ctx.indexes:
        return f"cloud '{r.cloud}' is not enabled (enabled: {', '.join(ctx.indexes)})"
    offers = [
        o for c, idx in ctx.indexes.items() if not r.cloud or c == r.cloud for _, o in idx.all
    ]
    everything = offers
    every_region = {o.region or "" for o in everything}
    where = _where(r, ctx)
    what = "CPU-only"
    if r.accelerators:
        name, count = r.accelerators[0]
        what = f"{name}:{count}"
        same = [o for o in offers if (o.accelerator_name or "").lower() == name.lower()]
        if not same:
            known = sorted({o.accelerator_name for o in offers if o.accelerator_name})
            return (
                f"no accelerator named '{name}' in {where}{suggest(name, known)}; "
                f"offered: {', '.join(known) or 'none'}"
            )
        offers = [o for o in same if o.accelerator_count == count]
        if not offers:
            top = max(o.accelerator_count for o in same)
            largest = sorted((o for o in same if o.accelerator_count == top), key=_cheapest)
            counts = ", ".join(str(n) for n in sorted({o.accelerator_count for o in same}))
            return (
                f"no {name}:{count} offer in {where}; counts offered: {counts}; largest is "
                f"{largest[0].accelerator_name}:{top} ({_names(largest)})"
            )
    if r.instance_type:
        wanted = r.instance_type.lower()
        typed = [o for o in offers if o.instance_type.lower() == wanted]
        if not typed:
            known = sorted({o.instance_type for o in offers})
            return (
                f"no instance type '{r.instance_type}'"
                f"{' with ' + what if r.accelerators else ''} in {where}"
                f"{suggest(r.instance_type, known)}"
            )
        offers = typed
        what = r.instance_type
    elif not r.accelerators:
        from styx.catalog.defaults import in_default_family

        offers = [
            o
            for o in offers
            if not o.accelerator_count
            and (o.cloud in ctx.inventory_clouds or in_default_family(o.cloud, o.instance_type))
        ]
        if not offers:
            return f"no CPU-only offer in {where}"
    if r.region:
        here = [o for o in offers if o.region == r.region]
        if not here:
            regions = sorted({o.region or "" for o in offers})
            hint = "" if r.region in every_region else suggest(r.region, every_region)
            return (
                f"no {what} offer in region '{r.region}'{hint}; "
                f"offered in: {', '.join(regions[:12])}"
            )
        offers = here
    if r.zone:
        here = [o for o in offers if r.zone in o.zones]
        if not here:
            zone_regions = {o.region for o in everything if r.zone in o.zones}
            zones = sorted(
                {z for o in offers if not zone_regions or o.region in zone_regions for z in o.zones}
            )
            every_zone = {z for o in everything for z in o.zones}
            hint = "" if r.zone in every_zone else suggest(r.zone, every_zone)
            return f"no {what} offer in zone '{r.zone}'{hint}; offered in: {', '.join(zones[:12])}"
        offers = here
    kind = [o for o in offers if o.use_spot == r.use_spot]
    if not kind:
        return f"no {'spot' if r.use_spot else 'on-demand'} {what} offer in {where}"
    offers = kind
    sized = _with_default(r, inventory=False)
    for label, unit in (("cpus", "vCPUs"), ("memory", "GiB")):
        asked = {
            o.cloud: getattr(r if o.cloud in ctx.inventory_clouds else sized, label) for o in offers
        }
        if not any(asked.values()):
            continue
        fits = [o for o in offers if _admits(asked[o.cloud], o, label)]
        if not fits:
            top = max(offers, key=lambda o: o.vcpus if label == "cpus" else o.memory_gib)
            size = top.vcpus if label == "cpus" else top.memory_gib
            shown = next(q for q in asked.values() if q)
            return (
                f"no {what} offer in {where} with {label}={shown}; largest has "
                f"{size:g} {unit} ({top.instance_type})"
            )
        offers = fits
    cheapest = min(offers, key=_cheapest)
    if r.max_hourly_cost is not None:
        total = cheapest.hourly_price * num_nodes
        if total > r.max_hourly_cost + 1e-9:
            return (
                f"the cheapest {what} offer ({cheapest.cloud}/{cheapest.region} "
                f"{cheapest.instance_type}) costs ${total:.2f}/h for {num_nodes} node(s), "
                f"above max_hourly_cost ${r.max_hourly_cost:g}/h"
            )
    if is_blocked is not None:
        return (
            f"all {len(offers)} feasible {what} offers in {where} are blocked after recent "
            f"failures (e.g. {_derive(cheapest, num_nodes, None).instance_type} in "
            f"{cheapest.cloud}/{cheapest.region}); see `styx status --blocked`, or launch "
            "with --no-block-list"
        )
    return f"no feasible {what} offer in {where}"


def _admits(quantity: Quantity | None, o: Offer, label: str) -> bool:
    if quantity is None:
        return True
    if label == "cpus":
        return quantity.admits(o.vcpus)
    return quantity.admits(o.memory_gib, o.vcpus)


def suggest(word: str, choices: set[str] | list[str]) -> str:
    """did_you_mean, case-insensitively (users type 'a100' as often as 'A100')."""
    by_lower = {c.lower(): c for c in choices}
    hint = did_you_mean(word.lower(), list(by_lower))
    if not hint:
        return ""
    match = hint.split("'")[1]
    return f" (did you mean '{by_lower.get(match, match)}'?)"


def _cheapest(o: Offer) -> tuple:
    return (o.hourly_price, o.vcpus, o.instance_type)
