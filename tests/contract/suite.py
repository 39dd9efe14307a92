"""The provider contract: every provider runs these tests unchanged.

A provider's test module subclasses :class:`ProviderContract` and supplies two fixtures:

* ``provider`` - a ready CloudProvider pointed at its test back-end;
* ``make_request`` - a callable ``(cluster_name, **overrides) -> ProvisionRequest`` valid for it.

and may override :meth:`ProviderContract.verify_exists` to check, with an independent client
(plain boto3, a raw HTTP GET, ...), what the provider claims.

Clouds with quotas, capacity and throttling (AWS, GCP, Azure) also run :class:`FailoverContract`
with a ``faults`` fixture: switches on their fake cloud, never on the provider.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from styx.errors import CapacityError, InstanceNotFoundError, Scope, UnsupportedError
from styx.optimizer import Offer
from styx.providers.base import CloudProvider, ProvisionRequest, QuotaLookup, StopStart
from styx.providers.instance import InstanceId, InstanceState, new_instance_id
from styx.scheduler import Scheduler
from styx.state.store import StateStore

LIVE = {InstanceState.PENDING, InstanceState.RUNNING}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class ProviderContract:
    expected_provider: str = ""
    gang_size: int = 3  # a provider with less room (this 2-core machine) lowers it

    def verify_exists(self, provider: CloudProvider, native_id: str | None, alive: bool) -> None:
        """Check independently of the provider that the instance exists (or is gone)."""

    def test_is_available(self, provider: CloudProvider) -> None:
        assert run(provider.is_available()) is True

    def test_regions_and_types(self, provider: CloudProvider) -> None:
        regions = run(provider.list_regions())
        assert regions and all(isinstance(r, str) and r for r in regions)
        types = run(provider.list_instance_types(regions[0]))
        assert types, "a provider must offer at least one instance type"
        for t in types:
            assert t.name and t.vcpus > 0 and t.memory_gib > 0

    def test_provision_get_list_terminate(
        self, provider: CloudProvider, make_request: Callable[..., ProvisionRequest]
    ) -> None:
        request = make_request("contract-a")
        inst = run(provider.provision(request))
        assert inst.id == request.instance_id
        assert inst.cluster_name == "contract-a"
        assert inst.instance_type == request.instance_type
        assert inst.state in LIVE
        assert inst.provider.value == (self.expected_provider or provider.name)
        self.verify_exists(provider, inst.native_id, alive=True)

        got = run(provider.get_instance(inst.id))
        assert got is not None and got.id == inst.id and got.native_id == inst.native_id
        listed = {i.id for i in run(provider.list_instances()) if i.state.is_alive}
        assert inst.id in listed

        run(provider.terminate(inst.id))
        after = run(provider.get_instance(inst.id))
        assert after is None or after.state is InstanceState.TERMINATED
        self.verify_exists(provider, inst.native_id, alive=False)
        run(provider.terminate(inst.id))  # terminating a gone instance is success

    def test_provision_is_idempotent(
        self, provider: CloudProvider, make_request: Callable[..., ProvisionRequest]
    ) -> None:
        request = make_request("contract-idem")
        first = run(provider.provision(request))
        second = run(provider.provision(request))
        assert first.native_id == second.native_id
        alive = [
            i
            for i in run(provider.list_instances())
            if i.cluster_name == "contract-idem" and i.state.is_alive
        ]
        assert len(alive) == 1
        run(provider.terminate(first.id))

    def test_provision_many_gang(
        self, provider: CloudProvider, make_request: Callable[..., ProvisionRequest]
    ) -> None:
        n = self.gang_size
        instances = run(provider.provision_many(make_request("contract-gang"), n))
        assert sorted(i.node_rank for i in instances) == list(range(n))
        assert len({i.id for i in instances}) == n
        assert len({i.native_id for i in instances}) == n
        for inst in instances:
            run(provider.terminate(inst.id))
        alive = [
            i
            for i in run(provider.list_instances())
            if i.cluster_name == "contract-gang" and i.state.is_alive
        ]
        assert alive == []

    def test_stop_start(
        self, provider: CloudProvider, make_request: Callable[..., ProvisionRequest]
    ) -> None:
        inst = run(provider.provision(make_request("contract-stop")))
        if not isinstance(provider, StopStart):
            with pytest.raises(UnsupportedError):
                run(provider.stop(inst.id))
            run(provider.terminate(inst.id))
            return
        run(provider.stop(inst.id))
        assert run(provider.get_instance(inst.id)).state is InstanceState.STOPPED
        run(provider.stop(inst.id))  # stopping a stopped instance is success
        run(provider.start(inst.id))
        assert run(provider.get_instance(inst.id)).state in LIVE
        run(provider.terminate(inst.id))

    def test_missing_instance(self, provider: CloudProvider) -> None:
        missing = InstanceId(new_instance_id())
        assert run(provider.get_instance(missing)) is None
        run(provider.terminate(missing))
        if isinstance(provider, StopStart):
            with pytest.raises(InstanceNotFoundError):
                run(provider.stop(missing))
            with pytest.raises(InstanceNotFoundError):
                run(provider.start(missing))


class CloudFaults(ABC):
    """Switches on a provider's fake cloud: the cloud itself answers with its own error codes.

    Nothing here touches the provider: each switch changes what the fake cloud (moto, the fake
    GCE server, the fake ARM server) answers over HTTP, as the real cloud would.
    """

    regions: tuple[str, str]  # two regions the fake serves; the first is tried first
    instance_type: str

    def zones(self, region: str) -> tuple[str, ...]:
        """The zones an offer in ``region`` lists (none: the provider picks)."""
        return ()

    @abstractmethod
    def zero_quota(self, region: str) -> AbstractContextManager[None]:
        """The region's quota for ``instance_type`` has no room left."""

    @abstractmethod
    def no_capacity(self) -> AbstractContextManager[None]:
        """Every launch fails with the cloud's own out-of-capacity answer."""

    @abstractmethod
    def throttled(self, times: int) -> AbstractContextManager[None]:
        """The next ``times`` launch calls are throttled (the cloud's 'slow down' answer)."""

    @abstractmethod
    def launch_calls(self) -> int:
        """How many launch (create-instance) calls the cloud has received so far."""


class FailoverContract:
    """What the scheduler relies on from a cloud with quotas, capacity and throttling.

    A cloud provider's test class adds this next to :class:`ProviderContract` and supplies a
    ``faults`` fixture (a :class:`CloudFaults`) besides ``provider`` and ``make_request``.
    """

    def offers(self, cloud: str, faults: CloudFaults) -> list[Offer]:
        return [
            Offer(
                cloud,
                region,
                faults.instance_type,
                False,
                2,
                8,
                None,
                0,
                0.1 + rank / 100,
                zones=faults.zones(region),
            )
            for rank, region in enumerate(faults.regions)
        ]

    def test_quota_precheck_skips_a_region_that_cannot_fit(
        self,
        provider: CloudProvider,
        make_request: Callable[..., ProvisionRequest],
        faults: CloudFaults,
        tmp_path: Path,
    ) -> None:
        assert isinstance(provider, QuotaLookup)
        first, second = faults.regions
        scheduler = Scheduler(StateStore(tmp_path / "state.db"), lambda _name: provider)
        template = make_request("contract-quota", instance_type=faults.instance_type)
        offers = self.offers(provider.name, faults)
        with faults.zero_quota(first):
            before = faults.launch_calls()
            outcome = run(scheduler.provision(offers, "contract-quota", template, 1))
            launched = faults.launch_calls() - before
        assert outcome.offer.region == second
        assert [(h.region, h.native_code) for h in outcome.history] == [(first, "QuotaPrecheck")]
        assert launched == 1  # the first region was never asked to launch
        for inst in outcome.instances:
            run(provider.terminate(inst.id))

    def test_capacity_error_leaves_nothing_running(
        self,
        provider: CloudProvider,
        make_request: Callable[..., ProvisionRequest],
        faults: CloudFaults,
    ) -> None:
        region = faults.regions[0]
        request = make_request("contract-nocap", instance_type=faults.instance_type, region=region)
        with faults.no_capacity(), pytest.raises(CapacityError) as info:
            run(provider.provision_many(request, 2))
        assert info.value.scope is not Scope.NONE  # a cloud's stockout is worth remembering
        alive = [
            i
            for i in run(provider.list_instances())
            if i.cluster_name == "contract-nocap" and i.state.is_alive
        ]
        assert alive == []

    def test_throttling_is_retried_then_succeeds(
        self,
        provider: CloudProvider,
        make_request: Callable[..., ProvisionRequest],
        faults: CloudFaults,
    ) -> None:
        request = make_request(
            "contract-throttle", instance_type=faults.instance_type, region=faults.regions[0]
        )
        before = faults.launch_calls()
        with faults.throttled(2):
            inst = run(provider.provision(request))
        assert faults.launch_calls() - before == 3  # two throttled calls, then the one that worked
        assert inst.id == request.instance_id and inst.state in LIVE
        alive = [
            i
            for i in run(provider.list_instances())
            if i.cluster_name == "contract-throttle" and i.state.is_alive
        ]
        assert len(alive) == 1  # the retries reused the id: one instance, not three
        run(provider.terminate(inst.id))
