"""SkyPilot's default machine for a request that names no instance type and no accelerator.

Catalog clouds (AWS, GCP, Azure) follow SkyPilot's catalog code so the same task file costs the
same: no ``cpus`` and no ``memory`` means ``cpus: 8+``; no ``memory`` means 4 GiB per vCPU
(``4x``); and only current general-purpose, compute-optimized and memory-optimized families are
considered, never burstable or older ones (AWS m6i/m7i/c6i/c7i/r6i/r7i, GCP n2-standard/
highmem/highcpu, Azure Dsv5/Esv5/Fsv2). A request that names an instance type or an accelerator
gets exactly what it names. Inventory clouds (local, SSH pools, Kubernetes) are sized by their
own inventories and get none of this.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache, lru_cache

from styx.resources import Quantity, Resources

DEFAULT_CPUS = Quantity(8, at_least=True)
DEFAULT_MEMORY = Quantity(4, per_cpu=True)


def applies(r: Resources) -> bool:
    """Whether the default sizing rule applies: a CPU-only request with no instance type."""
    return not (r.accelerators or r.instance_type)


def sized(r: Resources) -> Resources:
    """``r`` with the default cpus/memory filled in where the rule applies."""
    if not applies(r):
        return r
    cpus = r.cpus if (r.cpus or r.memory) else DEFAULT_CPUS
    memory = r.memory or DEFAULT_MEMORY
    if cpus is r.cpus and memory is r.memory:
        return r
    return replace(r, cpus=cpus, memory=memory)


@lru_cache(maxsize=8192)
def in_default_family(cloud: str, instance_type: str) -> bool:
    """Whether ``instance_type`` belongs to one of ``cloud``'s default families (the registry
    entry's ``default_families``; a cloud without one: every type)."""
    return _family_pattern(cloud).match(instance_type) is not None


@cache
def _family_pattern(cloud: str) -> re.Pattern[str]:
    from styx.providers.registry import entry

    return re.compile(entry(cloud).default_families or "")
