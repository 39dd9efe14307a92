"""An in-memory provider with failure switches, for testing the scheduler alone.

It is a provider in its own right (it implements the interface and keeps real state), not a
patched copy of another one: the scheduler under test cannot tell it from a cloud. Switches are
keyed by (region, zone, instance type); ``None`` in a key matches anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from styx.errors import (
    CapacityError,
    CredentialsError,
    InstanceNotFoundError,
    InvalidRequestError,
    QuotaError,
    Scope,
    TransientError,
)
from styx.providers.abilities import InstanceFamilies, QuotaInfo, QuotaLookup, StopStart
from styx.providers.base import CloudProvider, ProvisionRequest
from styx.providers.instance import (
    Instance,
    InstanceId,
    InstanceState,
    InstanceType,
    ProviderType,
)

ERRORS = {
    "capacity": (CapacityError, "InsufficientInstanceCapacity"),
    "quota": (QuotaError, "VcpuLimitExceeded"),
    "auth": (CredentialsError, "AuthFailure"),
    "throttle": (TransientError, "RequestLimitExceeded"),
    "invalid": (InvalidRequestError, "InvalidInstanceType"),
    # capacity known exactly (like the local machine): nothing to block
    "exact-capacity": (CapacityError, "InsufficientLocalCapacity"),
}
SCOPES = {"exact-capacity": Scope.NONE}
VCPUS = {"m5.large": 2.0, "m5.xlarge": 4.0, "c5.large": 2.0, "n2-standard-2": 2.0}


@dataclass
class Switch:
    kind: str  # a key of ERRORS, or "partial" (a gang where only some nodes come up)
    times: int | None = None  # None: always
    fired: int = 0


@dataclass
class Switchboard(StopStart, QuotaLookup, InstanceFamilies, CloudProvider):
    name_: str = "aws"
    switches: dict[tuple[str | None, str | None, str | None], Switch] = field(default_factory=dict)
    quotas: dict[str, float | None] = field(default_factory=dict)  # region -> free vCPUs
    instances: dict[str, Instance] = field(default_factory=dict)
    calls: list[tuple[str, str | None, str | None, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.provider_type = ProviderType(self.name_)

    def fail(
        self,
        kind: str,
        region: str | None = None,
        zone: str | None = None,
        instance_type: str | None = None,
        times: int | None = None,
    ) -> None:
        self.switches[(region, zone, instance_type)] = Switch(kind, times)

    def _switch(self, request: ProvisionRequest) -> Switch | None:
        for (region, zone, itype), switch in self.switches.items():
            if region not in (None, request.region) or zone not in (None, request.zone):
                continue
            if itype not in (None, request.instance_type):
                continue
            if switch.times is None or switch.fired < switch.times:
                return switch
        return None

    def alive(self, cluster: str | None = None) -> list[Instance]:
        return [
            i
            for i in self.instances.values()
            if i.state.is_alive and (cluster is None or i.cluster_name == cluster)
        ]

    def _make(self, request: ProvisionRequest) -> Instance:
        inst = Instance(
            id=request.instance_id,
            provider=self.provider_type,
            cluster_name=request.cluster_name,
            instance_type=request.instance_type,
            state=InstanceState.RUNNING,
            native_id=f"n-{request.instance_id}",
            region=request.region,
            zone=request.zone,
            private_ip="127.0.0.1",
            node_rank=request.node_rank,
            use_spot=request.use_spot,
        )
        self.instances[inst.id] = inst
        return inst

    async def provision(self, request: ProvisionRequest) -> Instance:
        return (await self.provision_many(request, 1))[0]

    async def provision_many(self, request: ProvisionRequest, count: int) -> list[Instance]:
        self.calls.append(("provision", request.region, request.zone, request.instance_type))
        switch = self._switch(request)
        if switch is not None:
            switch.fired += 1
            if switch.kind == "partial":
                # Half the gang comes up, then the cloud runs out: the caller must clean up.
                for rank in range(max(1, count // 2)):
                    self._make(request.for_rank(rank))
                raise CapacityError(
                    "gang only partly placed",
                    provider=self.name,
                    region=request.region,
                    zone=request.zone,
                    native_code="InsufficientInstanceCapacity",
                )
            cls, code = ERRORS[switch.kind]
            raise cls(
                f"injected {switch.kind}",
                provider=self.name,
                region=request.region,
                zone=request.zone,
                native_code=code,
                scope=SCOPES.get(switch.kind),
            )
        return [self._make(request.for_rank(r)) for r in range(count)]

    async def quota(self, region: str, instance_type: str, use_spot: bool = False) -> QuotaInfo:
        self.calls.append(("quota", region, None, instance_type))
        free = self.quotas.get(region)
        return QuotaInfo(region, instance_type, "vcpus", free, 0.0, VCPUS.get(instance_type, 2.0))

    def instance_family(self, instance_type: str) -> str:
        return instance_type.split(".", 1)[0].split("-", 1)[0]

    async def list_instances(self) -> list[Instance]:
        return list(self.instances.values())

    async def get_instance(self, instance_id: InstanceId) -> Instance | None:
        return self.instances.get(instance_id)

    async def terminate(self, instance_id: InstanceId) -> None:
        inst = self.instances.get(instance_id)
        if inst is not None:
            inst.state = InstanceState.TERMINATED

    async def _require(self, instance_id: InstanceId) -> Instance:
        inst = self.instances.get(instance_id)
        if inst is None or not inst.state.is_alive:
            raise InstanceNotFoundError(f"no {instance_id}", provider=self.name)
        return inst

    async def stop(self, instance_id: InstanceId) -> None:
        (await self._require(instance_id)).state = InstanceState.STOPPED

    async def start(self, instance_id: InstanceId) -> None:
        (await self._require(instance_id)).state = InstanceState.RUNNING

    async def is_available(self) -> bool:
        return True

    async def list_instance_types(self, region: str | None = None) -> list[InstanceType]:
        return [InstanceType("m5.large", 2, 8, price_per_hour=0.096, region=region)]

    async def list_regions(self) -> list[str]:
        return ["us-east-1", "us-west-2"]
