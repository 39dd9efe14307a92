"""The node-side container script, the in-container job wrapper, and the reuse rule."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from styx.agent.incontainer import container_kill, container_script
from styx.agent.nodes import NodeKind, NodeSpec
from styx.container.engine import (
    ContainerSpec,
    container_name,
    failure_reason,
    node_script,
    registry_login,
    stdin_for,
)
from styx.container.reuse import check_same_image
from styx.errors import ClusterError
from styx.state.store import ClusterRecord, ClusterStatus
from styx.task import Task

LOGIN = {
    "SKYPILOT_DOCKER_USERNAME": "u",
    "SKYPILOT_DOCKER_PASSWORD": "pa$$ word",
    "SKYPILOT_DOCKER_SERVER": "reg.example:5000",
}


def _bash_syntax_ok(script: str) -> None:
    proc = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_node_script_quotes_every_value_and_keeps_the_password_out() -> None:
    spec = ContainerSpec(
        image="ghcr.io/org/img:1",
        name=container_name("my cluster;x", 1, "0a1b2c3d-4e5f-6789-abcd-ef0123456789"),
        cluster="my cluster;x",
        instance_id="0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        mounts=("/data dir/a'b", "/ckpt"),
        gpu_ids=(0, 2),
        registry_login=registry_login(LOGIN),
    )
    assert spec.name == "styx-my-cluster-x-1-0a1b2c3d"
    script = node_script(spec)
    _bash_syntax_ok(script)
    assert "pa$$ word" not in script
    assert stdin_for(spec) == b"pa$$ word\n"
    assert "mounts=('/data dir/a'\"'\"'b' /ckpt)" in script
    assert "gpus=device=0,2" in script and "cluster='my cluster;x'" in script
    assert "login_server=(reg.example:5000)" in script


def test_the_fingerprint_follows_image_mounts_and_gpus() -> None:
    base = ContainerSpec("img:1", "n", "c", "i")
    assert base.fingerprint == replace(base, name="other").fingerprint
    for changed in (
        replace(base, image="img:2"),
        replace(base, mounts=("/data",)),
        replace(base, gpu_ids=(0,)),
    ):
        assert changed.fingerprint != base.fingerprint


def test_registry_login_needs_a_user_and_the_failure_line_is_found() -> None:
    assert registry_login({"SKYPILOT_DOCKER_PASSWORD": "p"}) is None
    login = registry_login({"SKYPILOT_DOCKER_USERNAME": "u"})
    assert login is not None and (login.password, login.server) == ("", "")
    assert failure_reason("noise\nstyx-container: cannot pull image 'x': denied\n") == (
        "cannot pull image 'x': denied"
    )
    assert failure_reason("bash: oops\n") is None


def test_the_job_wrapper_keeps_the_environment_off_the_engine_command_line() -> None:
    inner = "export HF_TOKEN='s3cret'\ncd ~\necho hi\n"
    script = container_script("styx-c-0-abc", inner, "job3-rank0")
    _bash_syntax_ok(script)
    exec_line = next(line for line in script.splitlines() if line.startswith("exec "))
    assert "s3cret" not in exec_line and "styx-c-0-abc" in exec_line
    assert "umask 077" in script  # the script file with the secret is 0600
    kill = container_kill("styx-c-0-abc", "job3-rank0")
    _bash_syntax_ok(kill)
    assert "job3-rank0.sh.cpid" in kill and "kill -TERM" in kill


def test_a_node_spec_carries_its_container_to_the_agent() -> None:
    spec = NodeSpec(rank=1, ip="10.0.0.2", kind=NodeKind.SSH, docker_container="styx-c-1-x")
    assert NodeSpec.from_dict(spec.to_dict()) == spec
    assert NodeSpec.from_dict(NodeSpec(rank=0, ip="1").to_dict()).docker_container is None


def _record(image: str | None, with_key: bool = True) -> ClusterRecord:
    resources = {"image_id": image} if with_key else {}
    return ClusterRecord(
        name="c", provider="local", status=ClusterStatus.UP, num_nodes=1, resources=resources
    )


def _task(image: str | None) -> Task:
    return Task.from_yaml({"resources": {"image_id": image} if image else {}, "run": "x"})


@pytest.mark.parametrize(
    ("had", "wants", "refused"),
    [
        ("docker:a:1", "docker:a:1", False),
        ("docker:a:1", "docker:a:2", True),
        ("docker:a:1", None, True),
        (None, "docker:a:1", True),
        ("ami-1", "ami-2", False),  # machine images are as before: not compared
        (None, None, False),
    ],
)
def test_reuse_with_another_container_image_is_refused(
    had: str | None, wants: str | None, refused: bool
) -> None:
    if refused:
        with pytest.raises(ClusterError, match=r"cluster 'c' runs .* but the task asks for"):
            check_same_image(_record(had), _task(wants))
    else:
        check_same_image(_record(had), _task(wants))


def test_a_cluster_recorded_before_images_were_kept_is_not_refused() -> None:
    check_same_image(_record(None, with_key=False), _task("docker:a:1"))
