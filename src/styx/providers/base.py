"""The one interface every provider implements.

The contract is written here, once. Implementations stay terse and do not repeat it.

General rules for every method:

* All methods are coroutines. Blocking SDK calls go through :func:`styx.providers.sync.run_sync`
  so the event loop never blocks.
* Every SDK error is translated into the taxonomy in :mod:`styx.errors` before it leaves the
  provider (one translation table per provider), keeping provider, region, zone and native code,
  and setting its scope (:class:`styx.errors.Scope`: how much of the provider it rules out).
* A TransientError is retried inside the provider, around the one call that failed, through
  :mod:`styx.retry`, and nowhere else.
* Optional abilities (:mod:`styx.providers.abilities`: StopStart, QuotaLookup,
  InstanceFamilies) are mixins a provider inherits; callers check them with ``isinstance``.
* Every resource a provider creates carries the Styx tags (``styx-id``, ``styx-cluster``,
  ``styx-owner``, ``styx-node-rank``; see :mod:`styx.providers.instance`), so that the cloud
  alone is enough to rebuild state after a crash and to find anything leaked.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from styx.errors import UnsupportedError
from styx.providers.abilities import (  # re-exported: the optional abilities of a provider
    InstanceFamilies,
    QuotaInfo,
    QuotaLookup,
    StopStart,
)
from styx.providers.instance import (
    Instance,
    InstanceId,
    InstanceType,
    ProviderType,
    new_instance_id,
)

if TYPE_CHECKING:
    from styx.providers.access import ClusterAccess

__all__ = [
    "Capabilities",
    "CloudProvider",
    "InstanceFamilies",
    "ProvisionRequest",
    "QuotaInfo",
    "QuotaLookup",
    "StopStart",
]


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, known without creating it (the optimizer filters on this)."""

    stop_start: bool = True
    spot: bool = False
    multi_node: bool = True
    open_ports: bool = False
    volumes: bool = False


@dataclass(frozen=True)
class ProvisionRequest:
    """What to create. ``instance_id`` is the idempotency key, sent as the cloud's own token.

    Who retries (see :mod:`styx.retry`): the provider retries a transient failure of one cloud
    call with the same request, hence the same id, so a retry never makes a second instance.
    The scheduler does not retry a request; each zone it tries is a new request with a new id.
    """

    cluster_name: str
    instance_type: str
    region: str | None = None
    zone: str | None = None
    use_spot: bool = False
    image_id: str | None = None
    disk_size_gb: int | None = None
    ports: tuple[int, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    ssh_public_key: str | None = None
    node_rank: int = 0
    instance_id: InstanceId = field(default_factory=new_instance_id)
    # The accelerator the offer carries. For shapes with built-in GPUs it repeats what the
    # type implies; for GCP N1 hosts it names the GPU to attach (e.g. "T4").
    num_gpus: int = 0
    accelerator_name: str | None = None

    def for_rank(self, rank: int) -> ProvisionRequest:
        """The same request for another node of a gang (call it on the rank-0 request).

        The rank's instance id is ``<gang id>-<rank>``, so a retried gang launch and the
        scheduler's launch intents name the very same ids (EC2 derives it from AmiLaunchIndex).
        """
        if rank == self.node_rank:
            return self
        return replace(self, node_rank=rank, instance_id=InstanceId(f"{self.instance_id}-{rank}"))


class CloudProvider(ABC):
    """A place that can run instances: a cloud, a Kubernetes cluster, SSH hosts, this machine."""

    provider_type: ProviderType
    capabilities: Capabilities = Capabilities()

    @property
    def name(self) -> str:
        return self.provider_type.value

    @abstractmethod
    async def provision(self, request: ProvisionRequest) -> Instance:
        """Create one instance and return it (state PENDING or RUNNING).

        Idempotent on ``request.instance_id``: a retry with the same id never creates a second
        instance, it returns the first. Raises CapacityError, QuotaError, CredentialsError,
        TransientError or InvalidRequestError; on error nothing is left running.
        """

    async def provision_many(self, request: ProvisionRequest, count: int) -> list[Instance]:
        """Create a gang of ``count`` instances, ranks 0..count-1, all or nothing.

        The default provisions each rank concurrently and, if any fails, terminates those that
        succeeded before re-raising the first error. Providers with a native gang call (EC2
        ``RunInstances`` with ``MinCount=MaxCount=count``) override this.
        """
        requests = [request if rank == 0 else request.for_rank(rank) for rank in range(count)]
        results = await asyncio.gather(
            *(self.provision(r) for r in requests), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            made = [r for r in results if isinstance(r, Instance)]
            await asyncio.gather(*(self.terminate(i.id) for i in made), return_exceptions=True)
            raise failures[0]
        return [r for r in results if isinstance(r, Instance)]

    @abstractmethod
    async def list_instances(self) -> list[Instance]:
        """Every instance Styx created through this provider (found by tag), any state but gone."""

    @abstractmethod
    async def get_instance(self, instance_id: InstanceId) -> Instance | None:
        """The instance with this Styx id, or None if it does not exist (or is long gone)."""

    @abstractmethod
    async def terminate(self, instance_id: InstanceId) -> None:
        """Delete the instance and what was made for it. A missing instance is success."""

    async def start(self, instance_id: InstanceId) -> None:
        """Start a stopped instance (providers that can inherit :class:`StopStart`).

        Without that ability: UnsupportedError (``capabilities.stop_start`` is False).
        """
        raise UnsupportedError(f"{self.name} instances cannot be started", provider=self.name)

    async def stop(self, instance_id: InstanceId) -> None:
        """Stop the instance, keeping its disk (providers that can inherit :class:`StopStart`).

        Without that ability: UnsupportedError; use terminate instead.
        """
        raise UnsupportedError(
            f"{self.name} instances cannot be stopped; tear the cluster down instead",
            provider=self.name,
        )

    @abstractmethod
    async def is_available(self) -> bool:
        """True when credentials are present and valid. Never raises for missing credentials."""

    async def check(self) -> str:
        """A one-line explanation for ``styx check``: who we are, or why disabled and the fix."""
        return "enabled" if await self.is_available() else "disabled"

    @abstractmethod
    async def list_instance_types(self, region: str | None = None) -> list[InstanceType]:
        """Machine shapes offered (in ``region`` when given), with prices when known."""

    @abstractmethod
    async def list_regions(self) -> list[str]:
        """Regions (contexts for Kubernetes, pools for SSH) this provider can place into."""

    async def release_unused(self, cluster_name: str) -> None:  # noqa: B027 - optional hook
        """Delete what was made for ``cluster_name`` where it has no instance (after failover).

        Called by the scheduler once a launch has settled. A provider may keep such resources
        (a security group) between the tries of one launch so the next zone reuses them.
        """

    async def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release clients and connections. Safe to call more than once."""

    async def cluster_access(self, cluster_name: str, instances: list[Instance]) -> ClusterAccess:
        """How the client reaches ``instances`` (one cluster's nodes): per node a CommandRunner
        and the NodeSpec the head's agent uses, plus the head's agent Python (see
        :mod:`styx.providers.access`). Raises ClusterError when a node cannot be addressed.

        Everything one connection needs lives in the returned object, which the caller closes.
        The default reaches VMs over SSH with the Styx key and the provider's config section
        (``ssh_proxy_command``, ``ssh_jump_host``, ...); a provider whose nodes are reached
        otherwise overrides it. Reaching an existing cluster must not need the cloud SDK where
        it can be avoided: the registry entry's ``node_access`` names a function that builds
        the same object without creating the provider (``registry.cluster_access``).
        """
        from styx.execution.ssh.access import vm_cluster_access

        return await vm_cluster_access(self.name, cluster_name, instances)
