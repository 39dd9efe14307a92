"""`image_id: docker:<image>`: planned only where the task really runs in that image.

Kubernetes runs the image as the pod's; VM clouds, SSH pools and local would boot their machine
image and run the task on the host, so their offers are left out (containers there are not built
yet) instead of passing the string on as a VM image.
"""

from __future__ import annotations

import pytest

from styx.errors import ResourcesUnavailableError
from styx.optimizer import plan, plan_or_raise
from styx.providers.instance import InstanceType
from styx.resources import Resources

KUBE = {"kubernetes": {"ctx": [InstanceType("4CPU--16GB", 4, 16, price_per_hour=0.0)]}}


def test_a_container_image_is_not_planned_on_vm_clouds() -> None:
    r = Resources.from_yaml({"image_id": "docker:vllm/vllm-openai:v0.10.0", "cpus": "4+"})
    assert r.container_image
    assert plan(r, clouds=["aws", "gcp", "azure"]) == []
    with pytest.raises(ResourcesUnavailableError, match=r"image_id 'docker:vllm.*container image"):
        plan_or_raise(r, clouds=["aws", "gcp", "azure"])


def test_a_container_image_plans_on_kubernetes_among_the_candidates() -> None:
    r = Resources.from_yaml({"image_id": "docker:python:3.11-slim", "cpus": "4+"})
    offers = plan(r, clouds=["aws", "kubernetes"], inventories=KUBE)
    assert offers and {o.cloud for o in offers} == {"kubernetes"}


def test_a_machine_image_still_plans_everywhere() -> None:
    r = Resources.from_yaml({"image_id": "ami-0123456789abcdef0", "cpus": "4+"})
    assert not r.container_image
    assert {o.cloud for o in plan(r, clouds=["aws"])} == {"aws"}


def test_a_per_region_mapping_of_container_images_counts_too() -> None:
    r = Resources.from_yaml({"image_id": {"us-east-1": "docker:repo/img:1"}, "infra": "aws"})
    assert r.container_image
    with pytest.raises(ResourcesUnavailableError, match="container image"):
        plan_or_raise(r, clouds=["aws"])
