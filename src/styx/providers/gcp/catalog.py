"""Machine and accelerator types as GCE lists them, per zone or across all zones at once."""

from __future__ import annotations

import asyncio
from typing import Any

from styx.providers.gcp.clients import GCEApi
from styx.providers.gcp.machines import ZoneAccelerator, ZoneMachine
from styx.providers.gcp.naming import last_segment

Catalog = tuple[list[ZoneMachine], list[ZoneAccelerator]]


def _machine(zone: str, mt: Any) -> ZoneMachine:
    acc = mt.accelerators[0] if mt.accelerators else None
    return ZoneMachine(
        zone=zone,
        name=mt.name,
        vcpus=mt.guest_cpus,
        memory_mb=mt.memory_mb,
        accelerator=acc.guest_accelerator_type if acc else None,
        accelerator_count=acc.guest_accelerator_count if acc else 0,
    )


async def zones_catalog(api: GCEApi, zones: list[str]) -> Catalog:
    """machineTypes.list + acceleratorTypes.list for each zone (concurrently)."""

    async def one(zone: str) -> Catalog:
        def fetch() -> tuple[list[Any], list[Any]]:
            kw = {"project": api.project, "zone": zone, "retry": None, "timeout": api.http_timeout}
            return list(api.machine_types.list(**kw)), list(api.accelerator_types.list(**kw))

        mts, ats = await api.must(fetch, zone=zone)
        return (
            [_machine(zone, mt) for mt in mts],
            [ZoneAccelerator(zone, at.name, at.maximum_cards_per_instance) for at in ats],
        )

    parts = await asyncio.gather(*(one(z) for z in zones))
    return [m for ms, _ in parts for m in ms], [a for _, accs in parts for a in accs]


async def all_zones_catalog(api: GCEApi) -> Catalog:
    """The aggregated lists: two calls for every zone of the project instead of two per zone."""

    def fetch() -> Catalog:
        kw = {"project": api.project, "retry": None, "timeout": api.http_timeout}
        machines = [
            _machine(last_segment(scope), mt)
            for scope, scoped in api.machine_types.aggregated_list(**kw)
            for mt in scoped.machine_types
        ]
        accs = [
            ZoneAccelerator(last_segment(scope), at.name, at.maximum_cards_per_instance)
            for scope, scoped in api.accelerator_types.aggregated_list(**kw)
            for at in scoped.accelerator_types
        ]
        return machines, accs

    return await api.must(fetch)
