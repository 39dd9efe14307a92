"""Offers and prices for AWS, GCP and Azure: a snapshot shipped in the package, optionally
replaced by ``styx catalog refresh``. Loaded lazily, per cloud, with the csv module."""

from __future__ import annotations

from styx.catalog.schema import (
    CATALOG_CLOUDS,
    SCHEMA_VERSION,
    CatalogError,
    CatalogRow,
    Provenance,
    RefreshError,
)
from styx.catalog.store import Catalog, clear_cache, load, load_all, user_catalog_path

__all__ = [
    "CATALOG_CLOUDS",
    "SCHEMA_VERSION",
    "Catalog",
    "CatalogError",
    "CatalogRow",
    "Provenance",
    "RefreshError",
    "clear_cache",
    "load",
    "load_all",
    "user_catalog_path",
]
