"""Providers: one folder each, all behind :class:`styx.providers.base.CloudProvider`."""

from styx.providers.registry import get_provider

__all__ = ["get_provider"]
