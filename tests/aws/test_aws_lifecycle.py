"""1 and 16 nodes, on-demand and spot: one RunInstances each, and plain boto3 agrees throughout."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from styx.keys import ensure_ssh_key
from styx.providers.aws.network import key_pair_name, security_group_name
from styx.providers.instance import InstanceState
from tests.aws.conftest import live_instances


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def by_native(ec2: Any, cluster: str) -> dict[str, dict[str, Any]]:
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "tag:styx-cluster", "Values": [cluster]}]
    )
    return {i["InstanceId"]: i for p in pages for r in p["Reservations"] for i in r["Instances"]}


def ingress_ports(ec2: Any, cluster: str) -> set[int]:
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [security_group_name(cluster)]}]
    )["SecurityGroups"]
    assert len(groups) == 1
    return {p["FromPort"] for p in groups[0]["IpPermissions"]}


@pytest.mark.parametrize("count", [1, 16])
@pytest.mark.parametrize("spot", [False, True], ids=["ondemand", "spot"])
def test_gang_lifecycle_matches_boto3(
    provider: Any, make_request: Callable[..., Any], ec2: Any, count: int, spot: bool
) -> None:
    cluster = f"life-{count}-{'spot' if spot else 'od'}"
    request = make_request(cluster, use_spot=spot, ports=(8080, 6006), disk_size_gb=64,
                           tags={"team": "ml"})  # fmt: skip
    if count == 1:
        made = [run(provider.provision(request))]
    else:
        made = run(provider.provision_many(request, count))
    assert provider.stats.calls["ec2.RunInstances"] == 1  # one call for the whole gang
    assert [i.node_rank for i in made] == list(range(count))
    assert made[0].id == request.instance_id
    assert len({i.id for i in made}) == count

    seen = by_native(ec2, cluster)
    assert set(seen) == {i.native_id for i in made}
    assert len({r["ReservationId"] for r in ec2.describe_instances(InstanceIds=list(seen))
                ["Reservations"]}) == 1  # fmt: skip
    key_name = key_pair_name(ensure_ssh_key()[1])
    for inst in made:
        raw = seen[inst.native_id]
        tags = {t["Key"]: t["Value"] for t in raw["Tags"]}
        assert tags["styx-id"] == request.instance_id
        assert tags["styx-cluster"] == cluster and tags["styx-owner"] and tags["team"] == "ml"
        assert int(tags["styx-node-rank"]) + raw["AmiLaunchIndex"] == inst.node_rank
        assert (raw.get("InstanceLifecycle") == "spot") is spot and inst.use_spot is spot
        assert raw["KeyName"] == key_name
        assert raw["InstanceType"] == "m5.large" and raw["ImageId"] == "ami-785db401"
        assert inst.public_ip == raw["PublicIpAddress"] and inst.private_ip
        assert inst.ssh_user == "ubuntu"
        assert inst.zone == raw["Placement"]["AvailabilityZone"] and inst.region == "us-east-1"
    assert ec2.describe_key_pairs(KeyNames=[key_name])["KeyPairs"]
    assert ingress_ports(ec2, cluster) == {22, 8080, 6006}
    volumes = ec2.describe_volumes(Filters=[{"Name": "tag:styx-cluster", "Values": [cluster]}])[
        "Volumes"
    ]
    assert len(volumes) == count and {v["Size"] for v in volumes} == {64}

    listed = {i.id: i for i in run(provider.list_instances()) if i.cluster_name == cluster}
    assert set(listed) == {i.id for i in made}
    for inst in made:
        got = run(provider.get_instance(inst.id))
        assert got is not None and got.native_id == inst.native_id
        assert got.node_rank == inst.node_rank and got.state is InstanceState.RUNNING

    for inst in made:
        run(provider.stop(inst.id))
    assert {i["State"]["Name"] for i in by_native(ec2, cluster).values()} == {"stopped"}
    assert {i.state for i in run(provider.list_instances())} == {InstanceState.STOPPED}
    for inst in made:
        run(provider.start(inst.id))
    assert {i["State"]["Name"] for i in by_native(ec2, cluster).values()} <= {"pending", "running"}

    for inst in made:
        run(provider.terminate(inst.id))
    assert live_instances(ec2, cluster) == []
    assert {i.state for i in run(provider.list_instances())} == {InstanceState.TERMINATED}
    # The cluster's group went with its last instance.
    assert not ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [security_group_name(cluster)]}]
    )["SecurityGroups"]


def test_retried_launch_never_double_launches(
    provider: Any, make_request: Callable[..., Any], ec2: Any
) -> None:
    request = make_request("idem-gang")
    first = run(provider.provision_many(request, 4))
    again = run(provider.provision_many(request, 4))
    assert [i.native_id for i in again] == [i.native_id for i in first]
    assert provider.stats.calls["ec2.RunInstances"] == 1
    assert len(live_instances(ec2, "idem-gang")) == 4


def test_second_launch_reuses_cached_lookups(
    provider: Any, make_request: Callable[..., Any]
) -> None:
    run(provider.provision(make_request("cache-a")))
    provider.stats.reset()
    run(provider.provision_many(make_request("cache-a"), 8))
    # Same cluster, region and key: only the idempotency lookup and the launch itself.
    assert dict(provider.stats.calls) == {"ec2.DescribeInstances": 1, "ec2.RunInstances": 1}


def test_default_images_per_region(provider: Any, make_request: Callable[..., Any]) -> None:
    cpu = run(provider.provision(make_request("img", image_id=None)))
    gpu = run(provider.provision(make_request("img", image_id=None, instance_type="g5.xlarge")))
    ec2 = boto3.client("ec2", region_name="us-east-1")
    images = {i["InstanceId"]: i["ImageId"] for i in live_instances(ec2, "img")}
    names = {
        im["ImageId"]: im["Name"]
        for im in ec2.describe_images(ImageIds=sorted(set(images.values())))["Images"]
    }
    assert names[images[cpu.native_id]].startswith("ubuntu/images/")
    assert "Deep Learning" in names[images[gpu.native_id]]
    assert provider.stats.calls["ec2.DescribeImages"] == 2  # one per kind, then cached


def test_other_region_is_found_by_a_fresh_provider(
    make_provider: Callable[..., Any], make_request: Callable[..., Any]
) -> None:
    inst = run(make_provider().provision(make_request("west", region="us-west-2")))
    assert inst.zone and inst.zone.startswith("us-west-2")
    fresh = make_provider(ssh_user="admin")
    assert "us-west-2" in fresh.regions_in_use()
    got = run(fresh.get_instance(inst.id))
    assert got is not None and got.region == "us-west-2" and got.ssh_user == "admin"
    west = boto3.client("ec2", region_name="us-west-2")
    assert len(live_instances(west, "west")) == 1
    run(fresh.terminate(inst.id))
    assert live_instances(west, "west") == []


def test_named_vpc_and_subnet_and_zone(
    make_provider: Callable[..., Any], make_request: Callable[..., Any], ec2: Any
) -> None:
    def named(kind: str, name: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]

    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=named("vpc", "styx-vpc"))
    subnet = ec2.create_subnet(
        VpcId=vpc["Vpc"]["VpcId"], CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1c",
        TagSpecifications=named("subnet", "styx-sub"),
    )["Subnet"]  # fmt: skip
    vpc = vpc["Vpc"]
    provider = make_provider(vpc_name="styx-vpc", subnet_names=["styx-sub"])
    inst = run(provider.provision(make_request("vpc", zone="us-east-1c")))
    raw = ec2.describe_instances(InstanceIds=[inst.native_id])["Reservations"][0]["Instances"][0]
    assert raw["SubnetId"] == subnet["SubnetId"] and raw["VpcId"] == vpc["VpcId"]
    group = ec2.describe_security_groups(GroupIds=[raw["SecurityGroups"][0]["GroupId"]])
    assert group["SecurityGroups"][0]["VpcId"] == vpc["VpcId"]
    from styx.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError) as info:
        run(provider.provision(make_request("vpc", zone="us-east-1a")))
    assert info.value.zone == "us-east-1a"


def test_key_pair_goes_with_the_last_instance_that_uses_it(
    provider: Any, make_request: Callable[..., Any], ec2: Any
) -> None:
    """One key pair per user key and region, shared by clusters, deleted with its last user."""

    def styx_keys() -> list[str]:
        pairs = ec2.describe_key_pairs()["KeyPairs"]
        return [p["KeyName"] for p in pairs if p["KeyName"].startswith("styx-")]

    a = run(provider.provision(make_request("kp-a")))
    b = run(provider.provision(make_request("kp-b")))
    assert len(styx_keys()) == 1  # imported once, reused
    run(provider.terminate(a.id))
    assert len(styx_keys()) == 1  # kp-b still uses it
    run(provider.terminate(b.id))
    assert styx_keys() == []
    c = run(provider.provision(make_request("kp-c")))  # imported again (the cache forgot it)
    assert len(styx_keys()) == 1
    run(provider.terminate(c.id))
    assert styx_keys() == []


def test_a_key_pair_styx_did_not_import_is_never_deleted(
    provider: Any, make_request: Callable[..., Any], ec2: Any
) -> None:
    ec2.create_key_pair(KeyName="styx-someone-elses")  # no styx-owner tag: not ours
    inst = run(provider.provision(make_request("kp-own")))
    run(provider.terminate(inst.id))
    names = [p["KeyName"] for p in ec2.describe_key_pairs()["KeyPairs"]]
    assert "styx-someone-elses" in names
