"""The provider contract: every provider runs these tests unchanged.

A provider's test module subclasses :class:`ProviderContract` and supplies two fixtures:

* ``provider`` - a ready CloudProvider pointed at its test back-end;
* ``make_request`` - a callable ``(cluster_name, **overrides) -> ProvisionRequest`` valid for it.

and may override :meth:`ProviderContract.verify_exists` to check, with an independent client
(plain boto3, a raw HTTP GET, ...), what the provider claims.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from styx.errors import InstanceNotFoundError, UnsupportedError
from styx.providers.base import CloudProvider, ProvisionRequest
from styx.providers.instance import InstanceId, InstanceState, new_instance_id

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
        if not provider.capabilities.stop_start:
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
        if provider.capabilities.stop_start:
            with pytest.raises(InstanceNotFoundError):
                run(provider.stop(missing))
            with pytest.raises(InstanceNotFoundError):
                run(provider.start(missing))
