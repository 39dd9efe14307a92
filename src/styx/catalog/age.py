"""How old the catalog in use is, and the hint to refresh it when a plan relies on an old one.

The age limit is ``catalog.max_age_days`` in ``$STYX_HOME/config.yaml`` (default 180; ``0``
turns the hint off). Prices move (AWS cut P4/P5 prices by up to ~45% in mid-2025), so a plan
made from an old snapshot says so in one line on stderr.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from styx.catalog.schema import CATALOG_CLOUDS, CatalogError
from styx.catalog.store import load

DEFAULT_MAX_AGE_DAYS = 180


def max_age_days() -> int:
    """``catalog.max_age_days`` from the config file, checked; the default when absent."""
    from styx.config import load_config

    section = load_config().get("catalog") or {}
    if not isinstance(section, dict):
        raise CatalogError("config.yaml: 'catalog' must be a mapping")
    value = section.get("max_age_days", DEFAULT_MAX_AGE_DAYS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CatalogError(
            f"config.yaml: catalog.max_age_days: got {value!r}, expected a whole number of "
            "days >= 0 (0 = never hint)"
        )
    return value


def age_days(as_of: str, today: dt.date | None = None) -> int | None:
    """Days since a catalog's as-of date (None when the date cannot be read)."""
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError:
        return None
    return ((today or dt.date.today()) - day).days


def stale_hint(clouds: Iterable[str], today: dt.date | None = None) -> str | None:
    """One line naming the catalogs (of ``clouds``) older than the limit, or None."""
    limit = max_age_days()
    if limit == 0:
        return None
    old = []
    for cloud in dict.fromkeys(c for c in clouds if c in CATALOG_CLOUDS):
        as_of = load(cloud).provenance.as_of
        days = age_days(as_of, today)
        if days is not None and days > limit:
            old.append((cloud, as_of, days))
    if not old:
        return None
    names = ", ".join(f"{c} (as of {a}, {d} days old)" for c, a, d in old)
    return (
        f"styx: hint: the catalog prices in this plan are older than {limit} days: {names}; "
        "run `styx catalog refresh` to update them (catalog.max_age_days in config.yaml)"
    )
