"""AWS on moto through the proxy-command harness (tests/e2e): an EC2 cluster whose "instance" is
an sshd node copies and mounts S3 buckets of the same moto server; the CLI as users run it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml

from tests.e2e.clouds import AWS_IMAGE, aws_section
from tests.e2e.conftest import (  # noqa: F401 - fixtures used by name
    Cli,
    Nodes,
    base_env,
    cloud_section,
    moto,
    nodes,
    sshd_nodes,
    write_config,
)
from tests.fakes.aws.moto_server import MotoServer, aws_env
from tests.storage.conftest import needs_rclone

pytestmark = [needs_rclone, pytest.mark.slow]


@pytest.fixture
def cli(moto: MotoServer, nodes: Nodes, styx_home: Path, tmp_path: Path) -> Iterator[Cli]:  # noqa: F811
    moto.reset()
    write_config(styx_home, {"aws": cloud_section(nodes, **aws_section())})
    yield Cli(styx_home, {**base_env(styx_home, tmp_path), **aws_env(moto)})
    from styx.execution.ssh.master import stop_masters

    stop_masters()


def _rclone_mounts_under(home: Path) -> list[str]:
    with open("/proc/mounts", encoding="utf-8") as f:
        points = [line.split()[1] for line in f if "rclone" in line.split()[2]]
    return [p for p in points if p.startswith(str(home))]


def test_s3_copy_and_mount_on_ec2(cli: Cli, nodes: Nodes, moto: MotoServer, tmp_path: Path) -> None:  # noqa: F811
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    uid = uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=f"in-{uid}")
    s3.put_object(Bucket=f"in-{uid}", Key="train/a.txt", Body=b"from-s3")
    task = {
        "file_mounts": {
            "~/in": f"s3://in-{uid}/train",
            "~/ckpt": {"name": f"ckpt-{uid}"},  # the store is the cluster's cloud's: S3
        },
        "run": "echo got=$(cat ~/in/a.txt); echo step-7 > ~/ckpt/last.txt",
    }
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    out = cli("launch", "-y", "-c", "st-aws", "--infra", "aws", "--image-id", AWS_IMAGE,
              "--cpus", "2", str(path), timeout=240)  # fmt: skip
    assert "got=from-s3" in out.stdout, out
    body = s3.get_object(Bucket=f"ckpt-{uid}", Key="last.txt")["Body"].read()
    assert body == b"step-7\n"
    tags = s3.get_bucket_tagging(Bucket=f"ckpt-{uid}")["TagSet"]
    assert any(t["Key"] == "styx-owner" for t in tags), tags
    homes = [n.home for n in nodes.cluster.nodes]
    live = [m for home in homes for m in _rclone_mounts_under(home)]
    assert len(live) == 1 and live[0].endswith("/ckpt"), live

    cli("down", "-y", "st-aws")
    assert [m for home in homes for m in _rclone_mounts_under(home)] == []
    assert s3.head_bucket(Bucket=f"ckpt-{uid}")  # persistent by default
    assert f"ckpt-{uid}" in cli("storage", "ls").stdout
    cli("storage", "delete", "-y", f"ckpt-{uid}")
    assert f"ckpt-{uid}" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
