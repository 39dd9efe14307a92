"""`ssh <cluster>` on an AWS (moto) cluster: the entry carries the provider's ssh_proxy_command,
which leads each instance's public IP to its sshd node on 127.0.0.1 (as the other e2e tests).

HOME is a temporary folder: the real ~/.ssh/config is never touched (OpenSSH reads its user
config through the password database, so ``-F`` names the temporary one Styx edited).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ssh_as_user
from tests.e2e.clouds import AWS_IMAGE, aws_section
from tests.e2e.conftest import Cli, Nodes, base_env, cloud_section, write_config
from tests.fakes.aws.moto_server import MotoServer, aws_env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "user-home"
    path.mkdir()
    return path


@pytest.fixture
def cli(moto: MotoServer, nodes: Nodes, styx_home: Path, tmp_path: Path, home: Path) -> Cli:
    moto.reset()
    write_config(
        styx_home,
        {
            "aws": cloud_section(nodes, **aws_section()),
            "ssh_config": {"add_include": True},
        },
    )
    return Cli(styx_home, {**base_env(styx_home, tmp_path), **aws_env(moto), "HOME": str(home)})


def test_ssh_cluster_on_aws_goes_through_the_proxy_command(
    cli: Cli, nodes: Nodes, home: Path, styx_home: Path
) -> None:
    name = "ssh-aws"
    cli("launch", "-y", "-c", name, "--infra", "aws", "--num-nodes", "2",
        "--image-id", AWS_IMAGE, "--cpus", "2", "--ports", "8080", "echo up")  # fmt: skip
    from styx.state.store import open_store

    insts = sorted(open_store().instances(name), key=lambda i: i.node_rank)
    head_node = nodes.node_for(str(insts[0].public_ip))
    worker_node = nodes.node_for(str(insts[1].public_ip))
    entry = (styx_home / "ssh" / "config.d" / name).read_text()
    assert f"HostName {insts[0].public_ip}" in entry and "ProxyCommand " in entry
    assert "User root" in entry and "HostKeyAlias styx-" in entry

    head = ssh_as_user(home, name, "hostname; echo $HOME")
    assert head.returncode == 0, head.stderr
    assert head.stdout.split()[1] == str(head_node.home)
    worker = ssh_as_user(home, f"{name}-worker1", "echo $HOME")
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.strip() == str(worker_node.home)

    url = cli("status", "--endpoints", name, "8080").stdout.strip()
    assert url == f"http://{insts[0].public_ip}:8080"

    cli("down", "-y", name)
    assert not (styx_home / "ssh" / "config.d" / name).exists()
    assert ssh_as_user(home, name, "hostname").returncode != 0
