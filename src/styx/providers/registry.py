"""Provider names to factories. Imports a provider's module (and its SDK) only when asked for."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from styx.errors import CredentialsError, StyxError
from styx.providers.base import CloudProvider


@dataclass(frozen=True)
class ProviderEntry:
    module: str
    class_name: str
    extra: str | None  # pip extra that installs the SDK, None when none is needed
    sdk_modules: tuple[str, ...] = ()


PROVIDERS: dict[str, ProviderEntry] = {
    "local": ProviderEntry("styx.providers.local.provider", "LocalProvider", None),
    # asyncssh is a core dependency, and the head node's agent (no asyncssh there) must be able
    # to create this provider to release pool hosts on autostop.
    "ssh": ProviderEntry("styx.providers.ssh.provider", "SSHProvider", None),
    "aws": ProviderEntry("styx.providers.aws.provider", "AWSProvider", "aws", ("boto3",)),
    "gcp": ProviderEntry(
        "styx.providers.gcp.provider", "GCPProvider", "gcp", ("google.cloud.compute_v1",)
    ),
    "azure": ProviderEntry(
        "styx.providers.azure.provider", "AzureProvider", "azure", ("azure.mgmt.compute",)
    ),
    "kubernetes": ProviderEntry(
        "styx.providers.kubernetes.provider", "KubernetesProvider", "kubernetes", ("kubernetes",)
    ),
}

ALIASES = {"k8s": "kubernetes"}


def canonical_name(name: str) -> str:
    """The registry name for ``name`` (accepts aliases such as ``k8s``)."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in PROVIDERS:
        from styx.spec import did_you_mean

        raise StyxError(
            f"unknown provider '{name}'; expected one of {', '.join(PROVIDERS)}"
            + did_you_mean(name, list(PROVIDERS) + list(ALIASES))
        )
    return key


def sdk_missing(name: str) -> str | None:
    """A one-line reason when the provider's SDK is not installed, else None."""
    entry = PROVIDERS[canonical_name(name)]
    import importlib.util

    for module in entry.sdk_modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            hint = f"pip install 'styx[{entry.extra}]'" if entry.extra else "pip install styx"
            return f"{name}: the SDK ({module}) is not installed; run: {hint}"
    return None


def provider_class(name: str) -> Callable[..., CloudProvider]:
    key = canonical_name(name)
    missing = sdk_missing(key)
    if missing:
        raise CredentialsError(missing, provider=key)
    entry = PROVIDERS[key]
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        hint = f"pip install 'styx[{entry.extra}]'" if entry.extra else "reinstall styx"
        raise CredentialsError(
            f"{key}: provider unavailable ({exc}); run: {hint}", provider=key
        ) from exc
    cls: Callable[..., CloudProvider] = getattr(module, entry.class_name)
    return cls


def get_provider(name: str, **config: object) -> CloudProvider:
    """Create the provider called ``name`` (local, ssh, aws, gcp, azure, kubernetes).

    ``config`` overrides what the provider would read from the Styx config file and environment.
    A provider whose SDK is missing raises CredentialsError with the pip hint; nothing else breaks.
    """
    return provider_class(name)(**config)
