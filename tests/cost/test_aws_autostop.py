"""Autostop, autodown and caps on AWS (moto), acted on by the cluster's own head.

The head's agent creates the AWS provider with the credentials of the node's identity: the
instance profile Styx attached at RunInstances, served by a fake instance-metadata service
(tests/fakes/aws/imds.py) that boto3 on the "VM" reads through AWS_EC2_METADATA_SERVICE_ENDPOINT.
The client stays away while the head acts; plain boto3 checks what happened.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.cost.conftest import WHEELHOUSE, require_head_wheels
from tests.e2e.clouds import AWS_IMAGE, aws_section
from tests.e2e.conftest import Cli, Nodes, base_env, cloud_section, write_config
from tests.fakes.aws.imds import FakeImds
from tests.fakes.aws.moto_server import MotoServer, aws_env

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def imds(moto: MotoServer) -> Iterator[FakeImds]:
    server = FakeImds(moto).start()
    yield server
    server.stop()


def _vm_env(nodes: Nodes, lines: str) -> None:
    for node in nodes.cluster.nodes:
        (node.dir / "vm.env").write_text(lines)


@pytest.fixture
def cli(
    moto: MotoServer, imds: FakeImds, nodes: Nodes, styx_home: Path, tmp_path: Path
) -> Iterator[Cli]:
    require_head_wheels()
    moto.reset()
    write_config(
        styx_home,
        {
            "aws": cloud_section(nodes, **aws_section()),
            "autostop": {"check_interval_s": 0.3},
            "runtime": {"wheelhouse": str(WHEELHOUSE)},
        },
    )
    # The "VM": its metadata service, and the region's endpoint (moto) for its SDK.
    _vm_env(
        nodes,
        f"export AWS_EC2_METADATA_SERVICE_ENDPOINT={imds.url} AWS_ENDPOINT_URL={moto.url}\n"
        "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN\n",
    )
    yield Cli(styx_home, {**base_env(styx_home, tmp_path), **aws_env(moto)})
    for node in nodes.cluster.nodes:
        (node.dir / "vm.env").unlink(missing_ok=True)


def _states(moto: MotoServer, cluster: str) -> list[str]:
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=moto.url,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    res = ec2.describe_instances(Filters=[{"Name": "tag:styx-cluster", "Values": [cluster]}])
    return sorted(i["State"]["Name"] for r in res["Reservations"] for i in r["Instances"])


def _wait_states(moto: MotoServer, cluster: str, wanted: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _states(moto, cluster) == wanted:
            return
        time.sleep(0.5)
    raise AssertionError(f"{cluster}: {_states(moto, cluster)}, expected {wanted}")


def _launch(cli: Cli, name: str, *args: str) -> Any:
    return cli("launch", "-y", "-c", name, "--infra", "aws/us-east-1", "--num-nodes", "2",
               "--image-id", AWS_IMAGE, "--cpus", "2", *args, "echo hi", timeout=240)  # fmt: skip


def test_idle_head_stops_both_instances(cli: Cli, moto: MotoServer, imds: FakeImds) -> None:
    # 0.05 idle minutes: 3 seconds.
    _launch(cli, "idle-aws", "-i", "0.05")
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=moto.url,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    profile = iam.get_instance_profile(InstanceProfileName="styx-node")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["styx-node"]
    policy = iam.get_role_policy(RoleName="styx-node", PolicyName="styx-node-autostop")
    assert "aws:ResourceTag/styx-id" in str(policy["PolicyDocument"])
    _wait_states(moto, "idle-aws", ["stopped", "stopped"])  # the client was not involved
    assert any("security-credentials" in r for r in imds.requests)  # the head's own identity
    status = cli("status", "-r", "idle-aws").stdout
    assert "STOPPED" in status, status
    cli("down", "-y", "idle-aws")


def test_idle_down_terminates_both_instances(cli: Cli, moto: MotoServer) -> None:
    _launch(cli, "down-aws", "-i", "0.05", "--down")
    _wait_states(moto, "down-aws", ["terminated", "terminated"])
    assert "No existing clusters." in cli("status", "-r").stdout


def test_cap_stops_the_cluster_and_status_says_why(cli: Cli, moto: MotoServer) -> None:
    # Two 2-vCPU nodes cost ~$0.2/h at the catalog price: a ten-thousandth of a dollar in ~2 s.
    out = _launch(cli, "cap-aws", "--max-cost", "0.0001")
    assert "warning" not in out.stderr, out.stderr
    _wait_states(moto, "cap-aws", ["stopped", "stopped"])
    status = cli("status", "-r", "cap-aws").stdout
    line = next(ln for ln in status.splitlines() if ln.startswith("cap-aws"))
    assert "STOPPED" in line and "spending cap reached" in line and "/ $0.0001 cap" in line, status
    report = json.loads(cli("cost-report", "--json").stdout)
    (row,) = report["clusters"]
    assert row["cluster"] == "cap-aws" and row["cost"] >= 0.0001
    cli("down", "-y", "cap-aws")


def test_head_without_identity_says_why_in_status(cli: Cli, nodes: Nodes, moto: MotoServer) -> None:
    # A VM whose metadata service cannot be reached: the head has no credentials.
    _vm_env(nodes, f"export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL={moto.url}\n")
    _launch(cli, "noid-aws", "-i", "0")
    deadline = time.monotonic() + 90
    status = ""
    while time.monotonic() < deadline:
        status = cli("status", "-r", "noid-aws").stdout
        if "cannot stop" in status:
            break
        time.sleep(1)
    line = next(ln for ln in status.splitlines() if ln.startswith("noid-aws"))
    assert "UP" in line and "cannot stop: CredentialsError" in line, status
    assert _states(moto, "noid-aws") == ["running", "running"]
    cli("down", "-y", "noid-aws")
