"""Optional abilities a provider may have beyond :class:`~styx.providers.base.CloudProvider`.

Each ability is an abstract mixin: a provider that has it inherits it (listed before
``CloudProvider``, so that its abstract methods win over the contract's defaults) and implements
its methods; callers ask with ``isinstance(provider, StopStart)``, never with ``getattr``.
``Capabilities`` repeats the answer as data, for the optimizer, which filters offers without
creating providers (a unit test keeps the two in agreement).

* :class:`StopStart`      instances can be stopped, keeping their disk, and started again
* :class:`QuotaLookup`    quotas can be read before launching (one :class:`QuotaInfo` type)
* :class:`InstanceFamilies` instance types come in families that share quotas
* :class:`NodeIdentity`   nodes get a cloud identity: the head can stop/tear down its cluster

Opening ports needs no ability of its own: ``ProvisionRequest.ports`` asks for them at launch
and ``Capabilities.open_ports`` says whether the provider honours it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from styx.providers.instance import InstanceId


@dataclass(frozen=True)
class QuotaInfo:
    """The quota that binds one instance type in one region, in the quota's own units.

    ``metric`` is the cloud's name for it (an EC2 quota code, a GCE metric such as
    ``NVIDIA_T4_GPUS``, an Azure usage name such as ``standardDSv3Family``). ``limit`` and
    ``used`` are None when the cloud did not say; ``per_instance`` is what one instance of the
    type consumes (vCPUs, GPUs). Unknown means "try": the launch itself will tell.
    """

    region: str
    instance_type: str
    metric: str | None
    limit: float | None
    used: float | None
    per_instance: float | None
    reason: str | None = None  # why it is unknown, when it is

    @property
    def known(self) -> bool:
        return None not in (self.limit, self.used, self.per_instance)

    @property
    def free(self) -> float | None:
        if self.limit is None or self.used is None:
            return None
        return max(0.0, self.limit - self.used)

    def needed(self, count: int = 1) -> float | None:
        return None if self.per_instance is None else self.per_instance * count

    def fits(self, count: int = 1) -> bool | None:
        """Whether ``count`` more instances fit: True/False when known, None when not."""
        free, needed = self.free, self.needed(count)
        if not self.known or free is None or needed is None:
            return None
        return needed <= free + 1e-9

    def describe(self, count: int = 1) -> str:
        """One line for the failover history: '<metric> quota leaves 0 free; 2 x 8 needs 16'."""
        needed = self.needed(count)
        return (
            f"{self.metric or 'quota'} leaves {_num(self.free)} free; {self.instance_type} "
            f"x{count} needs {_num(needed)}"
        )


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if math.isclose(value, round(value)) else f"{value:g}"


class StopStart(ABC):
    """Instances can be stopped (disk kept, compute released) and started again.

    A provider without this ability answers UnsupportedError to ``stop``/``start`` (the
    contract's default, or its own message saying what to do instead).
    """

    @abstractmethod
    async def start(self, instance_id: InstanceId) -> None:
        """Start a stopped instance. Starting a running one is success.

        Raises InstanceNotFoundError if it does not exist.
        """

    @abstractmethod
    async def stop(self, instance_id: InstanceId) -> None:
        """Stop the instance, keeping its disk. Stopping a stopped one is success.

        Raises InstanceNotFoundError if it does not exist.
        """


class QuotaLookup(ABC):
    """The provider can tell, before launching, whether a region's quota fits an instance."""

    @abstractmethod
    async def quota(self, region: str, instance_type: str, use_spot: bool = False) -> QuotaInfo:
        """The binding quota for one ``instance_type`` in ``region`` (see :class:`QuotaInfo`).

        Raises ProviderError when the lookup itself fails; the scheduler then tries the launch.
        """


class InstanceFamilies(ABC):
    """The provider's instance types come in families that share quotas.

    A quota failure blocks the whole family (in a region, or everywhere), so the scheduler
    needs the provider's own naming rule. A provider without this ability has no families:
    each instance type is its own.
    """

    @abstractmethod
    def instance_family(self, instance_type: str) -> str:
        """The family ``instance_type`` belongs to, e.g. 'p4d.24xlarge' -> 'p4d'."""


def instance_family_of(provider: object, instance_type: str) -> str:
    """The provider's family for ``instance_type``; the type itself when it has no families."""
    if isinstance(provider, InstanceFamilies):
        return provider.instance_family(instance_type)
    return instance_type


class NodeIdentity(ABC):
    """Nodes are given a cloud identity at provisioning (an instance profile, a service account,
    a managed identity, a pod service account), so the head's agent can stop or tear down its
    own cluster (autostop, spending caps) with the client offline."""

    @abstractmethod
    def head_config(self, region: str | None) -> dict[str, Any]:
        """Constructor overrides for this provider on the head (sent in ``cluster.json``):
        the region, API endpoints and CA bundle from the client's config; never a secret."""
