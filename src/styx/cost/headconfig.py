"""What the head needs to create its own provider: the provider's ``head_config`` (region,
endpoints, CA bundle; never secrets), for providers whose nodes have an identity."""

from __future__ import annotations

from typing import Any

from styx.state.store import ClusterRecord


def head_provider_config(record: ClusterRecord) -> dict[str, Any]:
    from styx.placement import provider_factory
    from styx.providers.abilities import NodeIdentity
    from styx.providers.registry import entry

    if entry(record.provider).extra is None:
        return {}  # local and SSH pools: the head reads its own files, no SDK to create
    provider = provider_factory()(record.provider)
    if isinstance(provider, NodeIdentity):
        return provider.head_config(record.region)
    return {}
