"""`image_id: docker:<image>`: planned on every provider, and never booted as a VM image.

Kubernetes runs the image as the pod's; VM clouds, SSH pools and local boot their default image
and the runtime starts the container on the node (styx.container).
"""

from __future__ import annotations

import json

import pytest

from styx.cli.catalog import render_plan
from styx.container.image import ImageKind, container_ref, image_kind, node_image
from styx.errors import TaskSpecError
from styx.optimizer import plan
from styx.providers.instance import InstanceType
from styx.providers.registry import image_is_node
from styx.resources import Resources

KUBE = {"kubernetes": {"ctx": [InstanceType("4CPU--16GB", 4, 16, price_per_hour=0.0)]}}


def test_a_container_image_plans_on_vm_clouds_too() -> None:
    r = Resources.from_yaml({"image_id": "docker:vllm/vllm-openai:v0.10.0", "cpus": "4+"})
    assert r.container_image
    assert {o.cloud for o in plan(r, clouds=["aws", "gcp", "azure"])} == {"aws", "gcp", "azure"}


def test_a_container_image_plans_on_kubernetes_among_the_candidates() -> None:
    r = Resources.from_yaml({"image_id": "docker:python:3.11-slim", "cpus": "4+"})
    offers = plan(r, clouds=["aws", "kubernetes"], inventories=KUBE)
    assert {o.cloud for o in offers} == {"aws", "kubernetes"}


def test_a_vm_is_never_asked_to_boot_a_container_image() -> None:
    assert not image_is_node("aws") and image_is_node("kubernetes") and image_is_node("k8s")
    assert node_image("docker:repo/img:1", image_is_node("gcp")) is None
    assert node_image("docker:repo/img:1", image_is_node("kubernetes")) == "docker:repo/img:1"
    assert node_image("ami-0123456789abcdef0", image_is_node("aws")) == "ami-0123456789abcdef0"


def test_the_dry_run_says_which_kind_of_image_per_region() -> None:
    mapping = {"us-east-1": "docker:repo/img:1", "us-west-2": "ami-0123456789abcdef0"}
    r = Resources.from_yaml({"image_id": mapping, "infra": "aws", "cpus": "4+"})
    assert r.container_image
    offers = plan(r, clouds=["aws"])
    east = next(o for o in offers if o.region == "us-east-1")
    west = next(o for o in offers if o.region == "us-west-2")
    for offer, image, kind in ((east, mapping["us-east-1"], "container"),
                               (west, mapping["us-west-2"], "machine")):  # fmt: skip
        record = json.loads(render_plan([offer], output="json", resources=r))["plan"][0]
        assert (record["image_id"], record["image_kind"]) == (image, kind)
    record = json.loads(render_plan([east], output="json", resources=Resources()))["plan"][0]
    assert (record["image_id"], record["image_kind"]) == (None, None)


def test_image_kinds_and_references() -> None:
    assert image_kind("docker:ubuntu:22.04") is ImageKind.CONTAINER
    assert image_kind("projects/debian-cloud/global/images/family/debian-12") is ImageKind.MACHINE
    assert image_kind(None) is None
    assert container_ref("docker:ghcr.io/org/img@sha256:abc") == "ghcr.io/org/img@sha256:abc"
    assert container_ref("ami-0123") is None


@pytest.mark.parametrize(
    "value", ["docker:", "docker:img;rm -rf /", "docker:-v", "docker:a b", "docker:" + "a" * 256]
)
def test_a_bad_container_reference_is_refused_naming_the_field(value: str) -> None:
    with pytest.raises(TaskSpecError, match=r"resources\.image_id: .*not a container image"):
        Resources.from_yaml({"image_id": value})


def test_a_bad_reference_in_a_region_mapping_names_the_region() -> None:
    with pytest.raises(TaskSpecError, match=r"resources\.image_id\.us-east-1: "):
        Resources.from_yaml({"image_id": {"us-east-1": "docker:$(id)"}})


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [("aws", None), ("gcp", None), ("azure", None), ("ssh", None), ("local", None),
     ("kubernetes", "docker:repo/img:1")],
)  # fmt: skip
def test_each_offer_s_request_boots_the_default_image_unless_the_image_is_the_pod(
    cloud: str, expected: str | None
) -> None:
    from styx.optimizer import Offer
    from styx.providers.base import ProvisionRequest
    from styx.scheduler import _request_for

    template = ProvisionRequest(cluster_name="c", instance_type="t", image_id="docker:repo/img:1")
    offer = Offer(cloud, "r", "t", False, 4, 16, None, 0, 0.1)
    assert _request_for(template, offer, None).image_id == expected
    machine = ProvisionRequest(cluster_name="c", instance_type="t", image_id="ami-0123")
    assert _request_for(machine, offer, None).image_id == "ami-0123"
