"""What the provider sends GCE (as received by the fake) and how it reads GCE's answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from styx.errors import InvalidRequestError
from styx.providers.base import ProvisionRequest
from styx.providers.gcp import naming
from styx.providers.gcp.provider import GCPProvider
from styx.providers.instance import InstanceState
from tests.fakes.gcp.backend import FakeGCE

run = asyncio.run
Make = Callable[..., ProvisionRequest]


def inserted(fake: FakeGCE) -> list[dict]:
    return [r.body for r in fake.received("POST", "/instances") if r.body]


def test_spot_gpu_request_body(gcp: GCPProvider, fake: FakeGCE, make_request: Make) -> None:
    req = make_request(
        "train",
        instance_type="n1-standard-8+nvidia-tesla-t4:1",
        use_spot=True,
        num_gpus=1,
        ports=(8080,),
    )
    inst = run(gcp.provision(req))
    body = inserted(fake)[-1]
    assert body["name"] == naming.instance_name(req.instance_id)
    assert body["machineType"] == "zones/us-central1-a/machineTypes/n1-standard-8"
    assert body["guestAccelerators"] == [
        {
            "acceleratorType": "zones/us-central1-a/acceleratorTypes/nvidia-tesla-t4",
            "acceleratorCount": 1,
        }
    ]
    sched = body["scheduling"]
    assert sched["provisioningModel"] == "SPOT"
    assert sched["instanceTerminationAction"] == "STOP"
    assert sched["onHostMaintenance"] == "TERMINATE"
    assert sched["automaticRestart"] is False
    image = body["disks"][0]["initializeParams"]["sourceImage"]
    assert "deeplearning-platform-release" in image
    # requestId: the UUID derived from the Styx id, so a retry dedupes server-side
    query = fake.received("POST", "/zones/us-central1-a/instances")[-1].query
    assert query["requestId"] == naming.insert_request_id(req.instance_id, "us-central1-a")
    assert uuid.UUID(query["requestId"]).version == 5
    labels = body["labels"]
    assert labels["styx-id"] == req.instance_id and labels["styx-cluster"] == "train"
    assert labels["styx-node-rank"] == "0" and labels["styx-owner"]
    meta = {i["key"]: i["value"] for i in body["metadata"]["items"]}
    assert meta["ssh-keys"].startswith("styx:ssh-ed25519 ")
    assert body["tags"]["items"] == [naming.network_tag("train")]
    fw = fake.firewalls[naming.firewall_name("train")]
    assert fw["allowed"] == [{"IPProtocol": "tcp", "ports": ["22", "8080"]}]
    assert fw["targetTags"] == [naming.network_tag("train")]
    # read back from GCE
    assert inst.use_spot and inst.instance_type == "n1-standard-8+nvidia-tesla-t4:1"
    assert inst.zone == "us-central1-a" and inst.region == "us-central1"
    assert inst.ssh_user == "styx"
    assert inst.private_ip and inst.private_ip.startswith("10.128.")


def test_bundled_gpu_type_and_cpu_image(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    run(gcp.provision(make_request("a2", instance_type="a2-highgpu-1g", num_gpus=1)))
    body = inserted(fake)[-1]
    assert "guestAccelerators" not in body  # a2 carries its A100
    assert body["scheduling"]["onHostMaintenance"] == "TERMINATE"
    assert "provisioningModel" not in body["scheduling"]
    run(gcp.provision(make_request("cpu")))
    cpu = inserted(fake)[-1]
    assert cpu["disks"][0]["initializeParams"]["sourceImage"].endswith("family/ubuntu-2204-lts")
    assert cpu["scheduling"] == {}


def test_gpu_count_from_request_and_missing_accelerator(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    inst = run(
        gcp.provision(make_request("g", instance_type="n1-standard-8+nvidia-tesla-t4", num_gpus=2))
    )
    assert inserted(fake)[-1]["guestAccelerators"][0]["acceleratorCount"] == 2
    assert inst.instance_type == "n1-standard-8+nvidia-tesla-t4:2"
    with pytest.raises(InvalidRequestError, match=r"n1-standard-8\+nvidia-tesla-t4:1"):
        run(gcp.provision(make_request("g", instance_type="n1-standard-8", num_gpus=1)))


def test_ips_status_steps_and_zone_choice(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    inst = run(gcp.provision(make_request("ips", zone="us-central1-c")))
    assert inst.zone == "us-central1-c"
    assert inst.state is InstanceState.PENDING  # GCE answers PROVISIONING/STAGING first
    got = run(gcp.get_instance(inst.id))
    assert got is not None and got.state is InstanceState.RUNNING
    assert got.public_ip and got.public_ip.startswith("34.118.")  # from accessConfigs natIP
    assert got.launched_at is not None
    # operations were awaited through zoneOperations.wait on the fake, not compute.googleapis.com
    assert fake.received("POST", "/wait")
    eu = run(gcp.provision(make_request("eu", region="europe-west4")))
    assert eu.zone == "europe-west4-a"  # first zone of the region


def test_cluster_name_outside_label_rules(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    name = "My.Cluster/Ünïcode-" + "x" * 70
    inst = run(gcp.provision(make_request(name, tags={"Team": "ML Research"})))
    labels = inserted(fake)[-1]["labels"]
    for key, value in labels.items():
        assert naming._LABEL_KEY_OK.match(key) and naming._LABEL_VALUE_OK.match(value), (key, value)
    assert inst.cluster_name == name and inst.tags["Team"] == "ML Research"
    listed = [i for i in run(gcp.list_instances()) if i.id == inst.id]
    assert listed[0].cluster_name == name
    run(gcp.terminate(inst.id))
    assert naming.firewall_name(name) not in fake.firewalls


def test_conflict_after_lost_request_id_is_success(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    req = make_request("idem")
    first = run(gcp.provision(req))
    fake.request_ids.clear()  # GCE forgot the requestId: the retry now hits 409 alreadyExists
    from tests.gcp.conftest import fake_config

    fresh = GCPProvider(**fake_config(fake))  # a new process: nothing cached
    again = run(fresh.provision(req))
    assert again.native_id == first.native_id and again.id == first.id
    assert len(fake.received("POST", "/zones/us-central1-a/instances")) == 2
    assert len(fake.instances) == 1


def test_firewall_widened_and_removed_with_last_node(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    a = run(gcp.provision(make_request("web", ports=(8080,))))
    b = run(gcp.provision(make_request("web", ports=(9000,), node_rank=1)))
    fw = fake.firewalls[naming.firewall_name("web")]
    assert sorted(fw["allowed"][0]["ports"], key=int) == ["22", "8080", "9000"]
    run(gcp.terminate(a.id))
    assert naming.firewall_name("web") in fake.firewalls  # b still uses it
    run(gcp.terminate(b.id))
    assert naming.firewall_name("web") not in fake.firewalls


def test_spot_preemption_seen_as_stopped_with_reason(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    inst = run(gcp.provision(make_request("spot", use_spot=True)))
    fake.preempt(inst.native_id)
    got = run(gcp.get_instance(inst.id))
    assert got is not None and got.state is InstanceState.STOPPED
    assert got.native_state == "TERMINATED" and got.state_reason == "Instance was preempted."
    assert got.public_ip is None
    run(gcp.start(inst.id))  # STOP action keeps the node restartable
    assert run(gcp.get_instance(inst.id)).state is InstanceState.PENDING


def test_spot_delete_action_preemption_makes_it_gone(fake: FakeGCE, make_request: Make) -> None:
    from tests.gcp.conftest import fake_config

    gcp = GCPProvider(**fake_config(fake, spot_termination_action="DELETE"))
    inst = run(gcp.provision(make_request("spot-del", use_spot=True)))
    assert inserted(fake)[-1]["scheduling"]["instanceTerminationAction"] == "DELETE"
    fake.preempt(inst.native_id)
    assert run(gcp.get_instance(inst.id)) is None


def test_instance_types_from_machine_and_accelerator_types(gcp: GCPProvider) -> None:
    types = {t.name: t for t in run(gcp.list_instance_types("us-central1"))}
    a2 = types["a2-highgpu-1g"]
    assert (a2.accelerator_name, a2.accelerator_count, a2.accelerator_memory_gib) == (
        "nvidia-tesla-a100",
        1,
        40,
    )
    assert a2.vcpus == 12 and a2.memory_gib == 85.0 and a2.price_per_hour is None
    assert a2.zones == ("us-central1-a", "us-central1-b")
    t4 = types["n1-standard-8+nvidia-tesla-t4:1"]
    assert t4.accelerator_count == 1 and t4.zones == (
        "us-central1-a",
        "us-central1-b",
        "us-central1-c",
    )
    assert (
        "n1-standard-8+nvidia-tesla-v100:1" in types
        and "e2-standard-2+nvidia-tesla-t4:1" not in types
    )
    assert "n1-standard-16+nvidia-tesla-v100:1" not in types  # 16 vCPUs > 12 per V100
    eu = run(gcp.list_instance_types("europe-west4"))
    assert {t.region for t in eu} == {"europe-west4"}
    every = run(gcp.list_instance_types())
    assert {t.region for t in every} == {"europe-west4", "us-central1"}
    assert run(gcp.list_regions()) == ["europe-west4", "us-central1"]


def test_sdk_extended_operation_polls_the_override_endpoint(
    gcp: GCPProvider, fake: FakeGCE, make_request: Make
) -> None:
    """SDK pitfall: ExtendedOperation.result() must poll the fake, not compute.googleapis.com."""
    inst = run(gcp.provision(make_request("ext")))
    api = run(gcp.api())
    op = api.instances.stop(project=api.project, zone=inst.zone, instance=inst.native_id)
    assert op.done() is False  # RUNNING at first: result() has to poll
    op.result(timeout=10)
    assert fake.instance(inst.native_id)["status"] == "TERMINATED"
    assert fake.received("GET", f"/zones/{inst.zone}/operations/{op.name}")
