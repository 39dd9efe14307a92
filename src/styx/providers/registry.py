"""The one list of providers: names, aliases and static facts, and the factories behind them.

Adding a provider is one entry here (plus its folder under ``providers/``). Everything else that
needs to know which providers exist (the task file's ``infra``, the optimizer, the catalog, the
placement, ``styx check``) reads this table. Reading it imports no provider module, so no SDK:
a provider's module (and its SDK) is imported only when the provider is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from styx.errors import CredentialsError, StyxError

if TYPE_CHECKING:
    # Annotations only: this table is read on paths (task parsing, dry runs) that must not pay
    # for asyncio or any provider module.
    from styx.providers.access import ClusterAccess
    from styx.providers.base import CloudProvider
    from styx.providers.instance import Instance


@dataclass(frozen=True)
class ProviderEntry:
    module: str
    class_name: str
    extra: str | None  # pip extra that installs the SDK, None when none is needed
    sdk_modules: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other names accepted in task files and on the command line
    # Where offers come from: a shipped price catalog (``catalog/data/<name>.csv``, refreshed
    # from the cloud's price list) or, with ``inventory``, the provider's own live listing
    # (``list_regions`` / ``list_instance_types``) at plan time.
    catalog: bool = False
    inventory: bool = False
    # The module whose ``fetch(current, timeout)`` and ``NOTES`` rebuild the catalog from the
    # cloud's public price list (``styx catalog refresh``); None: the shipped snapshot only.
    catalog_refresh: str | None = None
    # ``infra: <name>/<region>[/<zone>]``: False when the provider has no regions (just
    # ``<name>``); ``region_has_slash``: the region may itself contain '/' (a Kubernetes context
    # such as an EKS ARN, an SSH pool name), so no zone part is parsed.
    regions: bool = True
    region_has_slash: bool = False
    # Used when no cloud is enabled, so a fresh install runs tasks with no account at all.
    fallback: bool = False
    # "module:function" building the ClusterAccess of existing nodes without creating the
    # provider (so without importing its SDK): ``(provider, cluster, instances) -> access``.
    # None: the provider's own ``cluster_access`` is used.
    node_access: str | None = None
    # Nodes are folders on this machine (a sandbox each): file_mounts targets must stay under
    # the node's home, since an absolute path there would be the host's own.
    home_only_mounts: bool = False
    # SkyPilot's default families for a CPU-only request that names no instance type: a regex
    # over the provider's instance-type names (current general, compute and memory families,
    # never burstable ones). None: every type qualifies (inventory providers size themselves).
    default_families: str | None = None
    # ``image_id: docker:<image>`` is the node itself (Kubernetes: the pod's image). Elsewhere
    # the node boots its default machine image and the runtime starts the container on it
    # (styx.container), so a container image plans on every provider.
    container_images: bool = False
    # Nodes are reached with the Styx SSH key (made once per user before the first launch).
    uses_ssh_key: bool = True


def image_is_node(name: str) -> bool:
    """Whether ``image_id: docker:<image>`` is the image ``name``'s nodes are made from (a pod),
    rather than a container the runtime starts on a node booted from its default image."""
    return entry(name).container_images


def entry(name: str) -> ProviderEntry:
    """The registry entry of ``name`` (aliases accepted)."""
    return PROVIDERS[canonical_name(name)]


VM_OVER_SSH = "styx.execution.ssh.access:vm_cluster_access"

PROVIDERS: dict[str, ProviderEntry] = {
    "local": ProviderEntry(
        "styx.providers.local.provider", "LocalProvider", None, inventory=True, regions=False,
        fallback=True, home_only_mounts=True, uses_ssh_key=False,
    ),
    # asyncssh is a core dependency, and the head node's agent (no asyncssh there) must be able
    # to create this provider to release pool hosts on autostop.
    "ssh": ProviderEntry(
        "styx.providers.ssh.provider", "SSHProvider", None, inventory=True,
        region_has_slash=True,
    ),
    "aws": ProviderEntry(
        "styx.providers.aws.provider", "AWSProvider", "aws", ("boto3",),
        catalog=True, catalog_refresh="styx.catalog.refresh.aws", node_access=VM_OVER_SSH,
        default_families=r"^(m6i|m7i|c6i|c7i|r6i|r7i)\.",
    ),
    "gcp": ProviderEntry(
        "styx.providers.gcp.provider", "GCPProvider", "gcp", ("google.cloud.compute_v1",),
        catalog=True, catalog_refresh="styx.catalog.refresh.gcp", node_access=VM_OVER_SSH,
        default_families=r"^n2-(standard|highmem|highcpu)-\d+$",
    ),
    "azure": ProviderEntry(
        "styx.providers.azure.provider", "AzureProvider", "azure", ("azure.mgmt.compute",),
        catalog=True, catalog_refresh="styx.catalog.refresh.azure", node_access=VM_OVER_SSH,
        default_families=r"^Standard_(D|E)\d+s_v5$|^Standard_F\d+s_v2$",
    ),
    "kubernetes": ProviderEntry(
        "styx.providers.kubernetes.provider", "KubernetesProvider", "kubernetes",
        ("kubernetes",), aliases=("k8s",), inventory=True, region_has_slash=True,
        container_images=True,
    ),
}  # fmt: skip

ALIASES = {alias: name for name, entry in PROVIDERS.items() for alias in entry.aliases}


def provider_names(**facts: bool) -> tuple[str, ...]:
    """Registry names, in table order, of the providers whose entry has every given fact
    (``provider_names(catalog=True)``: the clouds with a price catalog)."""
    return tuple(
        name
        for name, entry in PROVIDERS.items()
        if all(getattr(entry, fact) == value for fact, value in facts.items())
    )


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


async def cluster_access(
    name: str,
    cluster_name: str,
    instances: list[Instance],
    provider: Callable[[str], CloudProvider] = get_provider,
) -> ClusterAccess:
    """How the client reaches ``instances`` of the provider called ``name``: the entry's
    ``node_access`` function when it has one (no SDK import), else ``provider(name)``'s
    ``cluster_access``."""
    key = canonical_name(name)
    entry = PROVIDERS[key]
    if entry.node_access is None:
        return await provider(key).cluster_access(cluster_name, instances)
    module, _, attr = entry.node_access.partition(":")
    build: Callable[[str, str, list[Instance]], Awaitable[ClusterAccess]] = getattr(
        importlib.import_module(module), attr
    )
    return await build(key, cluster_name, instances)
