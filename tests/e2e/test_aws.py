"""`styx launch` end to end on AWS (moto): EC2 instances reached through ssh_proxy_command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli, Nodes, base_env, cloud_section, write_config
from tests.e2e.scenario import CloudHooks, walk
from tests.fakes.aws.moto_server import MotoServer, aws_env, start_moto

IMAGE = "ami-785db401"  # an Ubuntu AMI moto ships: skips the default-image lookup


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture
def cli(moto: MotoServer, nodes: Nodes, styx_home: Path, tmp_path: Path) -> Cli:
    moto.reset()
    write_config(styx_home, {"aws": cloud_section(nodes, retry_base_delay_s=0.01,
                                                  sg_cleanup_wait_s=0)})  # fmt: skip
    return Cli(styx_home, {**base_env(styx_home, tmp_path), **aws_env(moto)})


def _ec2(moto: MotoServer, region: str = "us-east-1") -> Any:
    import boto3

    return boto3.client("ec2", region_name=region, endpoint_url=moto.url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


def live_count(moto: MotoServer, cluster: str, regions: tuple[str, ...]) -> int:
    """Instances of the cluster plain boto3 sees alive in ``regions``."""
    total = 0
    for region in set(regions):
        res = _ec2(moto, region).describe_instances(
            Filters=[{"Name": "tag:styx-cluster", "Values": [cluster]},
                     {"Name": "instance-state-name",
                      "Values": ["pending", "running", "stopping", "stopped"]}])  # fmt: skip
        total += sum(len(r["Instances"]) for r in res["Reservations"])
    return total


def test_launch_exec_stop_start_down(cli: Cli, nodes: Nodes, moto: MotoServer) -> None:
    hooks = CloudHooks(live_count=lambda c, region: live_count(moto, c, (region, "us-east-1")))
    walk(cli, nodes, "aws", hooks, ["--image-id", IMAGE, "--cpus", "2"])
