"""``styx check`` and ``styx schema``."""

from __future__ import annotations

import asyncio

import click

from styx.cli.output import print_json, print_table

CHECK_TIMEOUT_S = 20.0


async def _check_one(name: str) -> tuple[str, bool, str]:
    from styx.errors import StyxError
    from styx.providers.registry import get_provider, sdk_missing

    missing = sdk_missing(name)
    if missing:
        return name, False, missing
    try:
        provider = get_provider(name)
        ok = await asyncio.wait_for(provider.is_available(), CHECK_TIMEOUT_S)
        detail = await asyncio.wait_for(provider.check(), CHECK_TIMEOUT_S)
        await provider.close()
        return name, ok, detail
    except TimeoutError:
        return name, False, f"{name}: no answer within {CHECK_TIMEOUT_S:g}s"
    except StyxError as exc:
        return name, False, str(exc)


async def _check_all(names: list[str]) -> list[tuple[str, bool, str]]:
    return list(await asyncio.gather(*(_check_one(n) for n in names)))


@click.command()
@click.argument("clouds", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def check(clouds: tuple[str, ...], as_json: bool) -> None:
    """Check credentials of every provider and remember which are enabled."""
    from styx.placement import cached_enabled_clouds, save_enabled_clouds
    from styx.providers.registry import PROVIDERS, canonical_name

    names = [canonical_name(c) for c in clouds] or list(PROVIDERS)
    results = asyncio.run(_check_all(names))
    enabled = set(cached_enabled_clouds()) if clouds else set()
    for name, ok, _ in results:
        (enabled.add if ok else enabled.discard)(name)
    save_enabled_clouds(sorted(enabled))
    if as_json:
        print_json([{"cloud": n, "enabled": ok, "detail": d} for n, ok, d in results])
        return
    rows = [[n, "enabled" if ok else "disabled", d] for n, ok, d in results]
    print_table(None, ["CLOUD", "STATUS", "DETAIL"], rows)


@click.command()
def schema() -> None:
    """Print the JSON Schema of the task file."""
    from styx.schema import task_schema

    print_json(task_schema())
