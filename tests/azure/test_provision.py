"""Provision bodies, tags, IPs, spot, eviction and clean terminate, checked in the fake's state."""

from __future__ import annotations

import asyncio
from typing import Any

from styx.keys import ensure_ssh_key
from styx.providers import get_provider
from styx.providers.base import ProvisionRequest
from styx.providers.instance import InstanceState
from tests.azure.conftest import provider_config
from tests.fakes.azure.server import FakeArmServer
from tests.fakes.azure.state import FakeArm

NET = "Microsoft.Network"
KINDS = (
    f"{NET}/networkInterfaces",
    f"{NET}/publicIPAddresses",
    f"{NET}/networkSecurityGroups",
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Compute/disks",
)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def request(cluster: str = "c1", **kw: Any) -> ProvisionRequest:
    kw.setdefault("region", "eastus")
    return ProvisionRequest(cluster_name=cluster, instance_type="Standard_D2s_v3", **kw)


def leftovers(arm: FakeArm) -> dict[str, list[str]]:
    return {k: arm.names(k) for k in KINDS if arm.names(k)} | (
        {"groups": sorted(arm.groups)} if arm.groups else {}
    )


def test_spot_body_tags_key_and_ips(azure: Any, arm: FakeArm) -> None:
    req = request(use_spot=True, ports=(8888,), node_rank=2)
    inst = run(azure.provision(req))
    body = arm.vm_requests()[-1].body
    props = body["properties"]
    assert props["priority"] == "Spot"
    assert props["evictionPolicy"] == "Delete"
    assert props["billingProfile"] == {"maxPrice": -1}
    linux = props["osProfile"]["linuxConfiguration"]
    assert linux["disablePasswordAuthentication"] is True
    assert linux["ssh"]["publicKeys"][0]["keyData"] == ensure_ssh_key()[1]
    assert props["osProfile"]["adminUsername"] == "azureuser"
    # every per-VM resource carries the four Styx tags
    for kind in KINDS[:4]:
        (res,) = [r for r in arm.resources.values() if r["type"] == kind]
        assert res["tags"]["styx-id"] == req.instance_id, kind
        assert res["tags"]["styx-cluster"] == "c1" and res["tags"]["styx-node-rank"] == "2"
        assert res["tags"]["styx-owner"]
    (group,) = arm.groups.values()
    assert group["tags"]["styx-cluster"] == "c1" and "styx-owner" in group["tags"]
    nsg = next(r for r in arm.resources.values() if r["type"] == f"{NET}/networkSecurityGroups")
    ports = {r["properties"]["destinationPortRange"] for r in nsg["properties"]["securityRules"]}
    assert ports == {"22", "8888"}
    ip = next(r for r in arm.resources.values() if r["type"] == f"{NET}/publicIPAddresses")
    assert inst.public_ip == ip["properties"]["ipAddress"]
    assert inst.private_ip and inst.private_ip.startswith("10.0.")
    assert inst.use_spot and inst.ssh_user == "azureuser" and inst.node_rank == 2
    assert inst.state is InstanceState.RUNNING and inst.native_state == "PowerState/running"


def test_on_demand_has_no_spot_fields(azure: Any, arm: FakeArm) -> None:
    run(azure.provision(request()))
    props = arm.vm_requests()[-1].body["properties"]
    assert "priority" not in props and "billingProfile" not in props


def test_create_polls_in_progress_before_succeeded(azure: Any, arm: FakeArm) -> None:
    run(azure.provision(request()))
    polls = [r.path for r in arm.requests if "/operations/" in r.path]
    assert len(polls) >= 2  # InProgress once, then Succeeded


def test_terminate_leaves_nothing(azure: Any, arm: FakeArm) -> None:
    a = run(azure.provision(request("gone")))
    b = run(azure.provision(request("gone", node_rank=1)))
    run(azure.terminate(a.id))
    assert arm.groups, "the group stays while another VM of the cluster lives in it"
    assert len(arm.names("Microsoft.Compute/virtualMachines")) == 1
    run(azure.terminate(b.id))
    assert leftovers(arm) == {}


def test_spot_eviction_deallocate_policy(arm_server: FakeArmServer, arm: FakeArm) -> None:
    azure = get_provider("azure", **provider_config(arm_server, spot_eviction_policy="Deallocate"))
    inst = run(azure.provision(request(use_spot=True)))
    assert arm.vm_requests()[-1].body["properties"]["evictionPolicy"] == "Deallocate"
    arm.evict(f"styx-{inst.id}")
    got = run(azure.get_instance(inst.id))
    assert got is not None and got.state is InstanceState.STOPPED
    assert got.native_state == "PowerState/deallocated"


def test_spot_eviction_delete_policy_then_terminate_sweeps(azure: Any, arm: FakeArm) -> None:
    inst = run(azure.provision(request(use_spot=True)))
    arm.evict(f"styx-{inst.id}")
    assert run(azure.get_instance(inst.id)) is None
    assert arm.names(f"{NET}/publicIPAddresses"), "eviction leaves the IP and NSG behind"
    run(azure.terminate(inst.id))
    assert leftovers(arm) == {}


def test_list_instances_across_groups(azure: Any, arm: FakeArm) -> None:
    a = run(azure.provision(request("one")))
    b = run(azure.provision(request("two", region="westus2")))
    listed = {i.id: i for i in run(azure.list_instances())}
    assert set(listed) == {a.id, b.id}
    assert listed[b.id].region == "westus2" and listed[b.id].public_ip == b.public_ip
    assert all(i.state is InstanceState.RUNNING for i in listed.values())
