"""`styx launch` end to end on AWS (moto): EC2 instances reached through ssh_proxy_command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.clouds import AWS_IMAGE, aws_live, aws_section
from tests.e2e.conftest import Cli, Nodes, base_env, cloud_section, write_config
from tests.e2e.scenario import CloudHooks, walk
from tests.fakes.aws.moto_server import MotoServer, aws_env


@pytest.fixture
def cli(moto: MotoServer, nodes: Nodes, styx_home: Path, tmp_path: Path) -> Cli:
    moto.reset()
    write_config(styx_home, {"aws": cloud_section(nodes, **aws_section())})
    return Cli(styx_home, {**base_env(styx_home, tmp_path), **aws_env(moto)})


def test_launch_exec_stop_start_down(cli: Cli, nodes: Nodes, moto: MotoServer) -> None:
    hooks = CloudHooks(live_count=lambda c, region: aws_live(moto, c, (region, "us-east-1")))
    walk(cli, nodes, "aws", hooks, ["--image-id", AWS_IMAGE, "--cpus", "2"])
