"""``styx catalog refresh``: rebuild a cloud's catalog from its public price list.

Shapes (vCPUs, memory, accelerators) and zones come from the current catalog where the price
source lacks them (Azure's and GCP's price lists carry prices only); prices come from the
source. The result is written atomically to ``$STYX_HOME/catalog/<cloud>.csv`` with today's
date as its as-of date, so it is preferred over the shipped snapshot. Any failure leaves the
existing catalog untouched and raises RefreshError with a one-line message.
"""

from __future__ import annotations

import datetime as _dt
import importlib

from styx.catalog.schema import CATALOG_CLOUDS, SCHEMA_VERSION, Provenance, RefreshError
from styx.catalog.store import (
    Catalog,
    clear_cache,
    load,
    read_catalog,
    user_catalog_path,
    write_catalog,
)


def refresh(cloud: str, *, timeout: float | None = None, today: str | None = None) -> Catalog:
    """Fetch ``cloud``'s prices, write the new catalog, and return it."""
    if cloud not in CATALOG_CLOUDS:
        raise RefreshError(f"cannot refresh '{cloud}': expected one of {', '.join(CATALOG_CLOUDS)}")
    from styx.providers.registry import PROVIDERS

    refresher = PROVIDERS[cloud].catalog_refresh
    if refresher is None:
        raise RefreshError(f"cannot refresh '{cloud}': it has no public price list reader")
    module = importlib.import_module(refresher)
    current = load(cloud)
    rows, source = module.fetch(current, timeout=timeout)
    if not rows:
        raise RefreshError(
            f"{cloud}: the price list had no prices for any known instance type; catalog unchanged"
        )
    as_of = today or _dt.datetime.now(_dt.UTC).date().isoformat()
    notes = f"fetched by styx catalog refresh; {module.NOTES}"
    prov = Provenance(SCHEMA_VERSION, cloud, as_of, source, notes)
    path = user_catalog_path(cloud)
    write_catalog(path, prov, rows)
    clear_cache()
    return read_catalog(path, cloud)
