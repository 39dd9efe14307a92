"""Resources -> feasible offers ranked by total hourly cost.

(Placeholder ranking over provider inventories; the catalog-backed optimizer replaces the
internals and keeps this interface.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from styx.providers.instance import InstanceType
from styx.resources import Resources


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

    @property
    def total_hourly_price(self) -> float:
        return self.hourly_price * self.num_nodes


def plan(
    resources: Resources,
    num_nodes: int = 1,
    *,
    clouds: Iterable[str] | None = None,
    inventories: dict[str, dict[str, list[InstanceType]]] | None = None,
    is_blocked: Callable[[Offer], bool] | None = None,
) -> list[Offer]:
    """Feasible offers, cheapest first. ``inventories``: cloud -> region -> types, for providers
    whose shapes come from live inventory (local machine, SSH pools, Kubernetes)."""
    offers: list[Offer] = []
    allowed = set(clouds) if clouds is not None else None
    for candidate in resources.candidates():
        for cloud, regions in (inventories or {}).items():
            if allowed is not None and cloud not in allowed:
                continue
            if candidate.cloud and candidate.cloud != cloud:
                continue
            for region, types in regions.items():
                if candidate.region and candidate.region != region:
                    continue
                for t in types:
                    if not fits(candidate, t):
                        continue
                    price = t.price_per_hour or 0.0
                    offers.append(
                        Offer(
                            cloud,
                            region,
                            t.name,
                            False,
                            t.vcpus,
                            t.memory_gib,
                            t.accelerator_name,
                            t.accelerator_count,
                            price,
                            num_nodes,
                            t.zones,
                        )
                    )
    if is_blocked:
        offers = [o for o in offers if not is_blocked(o)]
    offers.sort(key=lambda o: (o.total_hourly_price, o.vcpus, o.memory_gib, o.instance_type))
    return offers


def fits(r: Resources, t: InstanceType) -> bool:
    if r.instance_type and r.instance_type != t.name:
        return False
    if r.cpus and not r.cpus.admits(t.vcpus):
        return False
    if r.memory and not r.memory.admits(t.memory_gib, t.vcpus):
        return False
    if r.accelerators:
        name, count = r.accelerators[0]
        if (t.accelerator_name or "").lower() != name.lower() or t.accelerator_count != count:
            return False
    elif t.accelerator_count:
        return False
    return True
