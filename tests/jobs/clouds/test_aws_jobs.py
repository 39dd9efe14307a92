"""Managed spot jobs on AWS (moto): preempted twice (the instance terminated with EC2's
spot-interruption reason), 1 node and 2 nodes, each ends SUCCEEDED with recovery_count 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from styx.providers.instance import Instance
from tests.e2e.clouds import AWS_IMAGE, aws_live, aws_section
from tests.e2e.conftest import Nodes
from tests.fakes.aws.faults import interrupt_spot
from tests.fakes.aws.moto_server import MotoServer, aws_env
from tests.jobs.clouds.scenario import preemption_scenario

pytestmark = pytest.mark.slow


def _interrupt(inst: Instance) -> None:
    interrupt_spot(str(inst.native_id), inst.region or "us-east-1")


@pytest.mark.parametrize("num_nodes", [1, 2])
def test_spot_job_preempted_twice_resumes_from_its_checkpoint(
    moto: MotoServer, nodes: Nodes, styx_home: Path, tmp_path: Path, num_nodes: int
) -> None:
    moto.reset()
    resources = f"infra: aws/us-east-1, image_id: {AWS_IMAGE}, use_spot: true, cpus: 2"
    record = preemption_scenario(
        styx_home, tmp_path, nodes, "aws", aws_section(), aws_env(moto), resources, _interrupt,
        rounds=2, num_nodes=num_nodes,
    )  # fmt: skip
    assert record["infra"].startswith("aws/us-east-1")
    assert aws_live(moto, record["cluster"], ("us-east-1",)) == 0  # nothing left running
