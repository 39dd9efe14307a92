"""``styx check``: ask each provider whether its credentials work, and remember which do.

One implementation for the CLI in-process and for the API server (which checks its own
credentials: the clients' machines hold none).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

CHECK_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class CloudCheck:
    cloud: str
    enabled: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _check_one(name: str) -> CloudCheck:
    from styx.errors import StyxError
    from styx.providers.registry import get_provider, sdk_missing

    missing = sdk_missing(name)
    if missing:
        return CloudCheck(name, False, missing)
    try:
        provider = get_provider(name)
        ok = await asyncio.wait_for(provider.is_available(), CHECK_TIMEOUT_S)
        detail = await asyncio.wait_for(provider.check(), CHECK_TIMEOUT_S)
        await provider.close()
        return CloudCheck(name, ok, detail)
    except TimeoutError:
        return CloudCheck(name, False, f"{name}: no answer within {CHECK_TIMEOUT_S:g}s")
    except StyxError as exc:
        return CloudCheck(name, False, str(exc))


async def check_clouds(clouds: list[str]) -> list[CloudCheck]:
    """Check ``clouds`` (every provider when empty) and save the enabled set: the named ones
    are added to or removed from it, a check of every provider replaces it."""
    from styx.placement import cached_enabled_clouds, save_enabled_clouds
    from styx.providers.registry import PROVIDERS, canonical_name

    names = [canonical_name(c) for c in clouds] or list(PROVIDERS)
    results = list(await asyncio.gather(*(_check_one(n) for n in names)))
    enabled = set(cached_enabled_clouds()) if clouds else set()
    for result in results:
        (enabled.add if result.enabled else enabled.discard)(result.cloud)
    save_enabled_clouds(sorted(enabled))
    return results
