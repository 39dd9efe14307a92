"""The provider registry is the only list of providers: every entry is complete, and the parts
that need the list (task files, optimizer, catalog, placement) read it."""

from __future__ import annotations

import importlib
import importlib.util

import pytest

from styx.catalog.schema import CATALOG_CLOUDS
from styx.catalog.store import SHIPPED_DIR
from styx.errors import TaskSpecError
from styx.placement import INVENTORY_CLOUDS
from styx.providers.instance import ProviderType
from styx.providers.registry import ALIASES, PROVIDERS, provider_names
from styx.resources import CLOUDS, parse_infra


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_each_entry_points_at_what_exists(name: str) -> None:
    entry = PROVIDERS[name]
    assert importlib.util.find_spec(entry.module) is not None
    assert entry.catalog or entry.inventory, f"{name}: offers come from nowhere"
    if entry.catalog:
        assert (SHIPPED_DIR / f"{name}.csv").is_file()
    if entry.catalog_refresh:
        refresher = importlib.import_module(entry.catalog_refresh)
        assert callable(refresher.fetch) and isinstance(refresher.NOTES, str)
    if entry.node_access:
        module, _, attr = entry.node_access.partition(":")
        assert callable(getattr(importlib.import_module(module), attr))


def test_every_list_of_providers_is_read_from_the_registry() -> None:
    assert tuple(PROVIDERS) == CLOUDS
    assert CATALOG_CLOUDS == provider_names(catalog=True) == ("aws", "gcp", "azure")
    assert set(INVENTORY_CLOUDS) == {"local", "ssh", "kubernetes"}
    assert ALIASES == {"k8s": "kubernetes"}
    assert [p.value for p in ProviderType] == list(PROVIDERS)
    assert ProviderType.KUBERNETES == "kubernetes" and ProviderType("local") is ProviderType.LOCAL


def test_infra_syntax_comes_from_the_entry() -> None:
    arn = "arn:aws:eks:us-east-1:1:cluster/gpu"
    assert parse_infra(f"k8s/{arn}") == {"cloud": "kubernetes", "region": arn, "zone": None}
    assert parse_infra("aws/us-east-1/us-east-1a")["zone"] == "us-east-1a"
    with pytest.raises(TaskSpecError, match="no regions"):
        parse_infra("local/anywhere")
