"""Which clouds a launch may use, their live inventories, and the ranked offers for a task.

Clouds enabled by credentials are those the last ``styx check`` found working (cached in
``$STYX_HOME/enabled_clouds.json``, as probing every cloud on each launch would cost seconds).
The local machine is used when the task asks for it (``infra: local``) or when no cloud is
enabled, so that a fresh install runs tasks with no account at all.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from styx.config import styx_home
from styx.errors import ResourcesUnavailableError, StyxError
from styx.optimizer import CATALOG_CLOUDS, Offer, plan
from styx.providers.base import CloudProvider
from styx.providers.instance import InstanceType
from styx.providers.registry import provider_names
from styx.task import Task

INVENTORY_CLOUDS = provider_names(inventory=True)  # offers listed live, not from a catalog
FALLBACK_CLOUDS = provider_names(fallback=True)  # used when no cloud is enabled
_PROVIDERS: dict[str, CloudProvider] = {}


def provider_factory() -> Callable[[str], CloudProvider]:
    """name -> provider, one instance per name per process."""
    from styx.providers.registry import canonical_name, get_provider

    def get(name: str) -> CloudProvider:
        key = canonical_name(name)
        if key not in _PROVIDERS:
            _PROVIDERS[key] = get_provider(key)
        return _PROVIDERS[key]

    return get


def reset_providers() -> None:
    """Forget the providers made so far (their caches), e.g. after the config changed."""
    _PROVIDERS.clear()


def enabled_clouds_path() -> str:
    return str(styx_home() / "enabled_clouds.json")


def cached_enabled_clouds() -> list[str]:
    try:
        with open(enabled_clouds_path(), encoding="utf-8") as f:
            data = json.load(f)
        return [str(c) for c in data.get("enabled", [])]
    except (OSError, ValueError):
        return []


def save_enabled_clouds(clouds: list[str]) -> None:
    path = enabled_clouds_path()
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"enabled": clouds}, f)
    import os

    os.replace(path + ".tmp", path)


def clouds_for(task: Task, notes: list[str] | None = None) -> list[str]:
    """The clouds to plan ``task`` on.

    When the task's branches name several clouds and ``styx check`` found some working, a
    branch on a catalog cloud that is not enabled is skipped (a line in ``notes``), as long
    as another cloud remains.
    """
    candidates = task.resources.candidates()
    pinned = [c.cloud for c in candidates]
    enabled = [c for c in cached_enabled_clouds() if c not in FALLBACK_CLOUDS]
    named = {p for p in pinned if p}
    if all(pinned):
        clouds = sorted(named)
        disabled = [c for c in clouds if enabled and c in CATALOG_CLOUDS and c not in enabled]
        if disabled and len(disabled) < len(clouds):
            for cloud in disabled:
                _note(notes, f"cloud '{cloud}' is not enabled (see 'styx check'); branch skipped")
            clouds = [c for c in clouds if c not in disabled]
        return clouds
    return sorted(set(enabled) | named) if enabled else sorted(named | set(FALLBACK_CLOUDS))


def _note(notes: list[str] | None, line: str) -> None:
    if notes is not None:
        notes.append(line)


async def inventories_for(
    clouds: list[str], notes: list[str] | None = None
) -> dict[str, dict[str, list[InstanceType]]]:
    """Live shapes of the inventory clouds among ``clouds``.

    With ``notes`` and more than one cloud to choose from, a cloud whose listing fails (no
    kubeconfig, an unreachable pool) is left out with a line in ``notes`` instead of failing
    the whole plan; with no other cloud left, the failure is raised.
    """
    factory = provider_factory()
    out: dict[str, dict[str, list[InstanceType]]] = {}
    for cloud in clouds:
        if cloud not in INVENTORY_CLOUDS:
            continue
        try:
            provider = factory(cloud)
            regions = await provider.list_regions()
            out[cloud] = {r: await provider.list_instance_types(r) for r in regions}
        except StyxError as exc:
            others = [c for c in clouds if c != cloud]
            if notes is None or not others:
                raise
            out.pop(cloud, None)
            notes.append(f"cloud '{cloud}' is not usable ({exc}); branch skipped")
    return out


async def plan_offers(task: Task, is_blocked: Callable[[Offer], bool] | None = None) -> list[Offer]:
    """Feasible offers for ``task``, cheapest first; ResourcesUnavailableError when none.

    Branches on clouds that cannot be used now are skipped with a note on stderr.
    """
    notes: list[str] = []
    clouds = clouds_for(task, notes)
    try:
        inventories = await inventories_for(clouds, notes)
    except StyxError as exc:
        raise ResourcesUnavailableError(f"cannot list offers: {exc}") from exc
    clouds = [c for c in clouds if c not in INVENTORY_CLOUDS or c in inventories]
    for line in dict.fromkeys(notes):
        print(f"styx: note: {line}", file=sys.stderr)
    offers = plan(
        task.resources,
        task.num_nodes,
        clouds=clouds,
        inventories=inventories,
        is_blocked=is_blocked,
    )
    if not offers:
        raise ResourcesUnavailableError(_explain(task, clouds, inventories))
    return offers


def _explain(
    task: Task, clouds: list[str], inventories: dict[str, dict[str, list[InstanceType]]]
) -> str:
    from styx.optimizer import explain_infeasible

    return str(
        explain_infeasible(task.resources, task.num_nodes, clouds=clouds, inventories=inventories)
    )
