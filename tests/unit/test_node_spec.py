"""NodeSpec, the head's description of a node: its JSON round trip and one launcher per kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from styx.agent import nodes
from styx.agent.nodes import NodeKind, NodeSpec


def test_spec_survives_the_json_of_the_job_spec() -> None:
    spec = NodeSpec(
        rank=1,
        ip="10.0.0.2",
        kind=NodeKind.SSH,
        host="54.0.0.2",
        user="ubuntu",
        key_path="~/.styx/keys/abc",
        instance_id="i-1",
        gpu_ids=(0, 1),
        extra_ssh_options=("-o", "LogLevel=ERROR"),
    )
    wire = json.loads(json.dumps(spec.to_dict()))
    assert wire["kind"] == "ssh"
    back = NodeSpec.from_dict(wire)
    assert back == spec and back.kind is NodeKind.SSH


def test_unknown_fields_are_ignored_and_unknown_kinds_rejected() -> None:
    assert NodeSpec.from_dict({"rank": 0, "ip": "x", "future_field": 1}).kind is NodeKind.LOCAL
    with pytest.raises(ValueError, match="'ftp' is not a valid NodeKind"):
        NodeSpec.from_dict({"rank": 0, "ip": "x", "kind": "ftp"})


def test_every_kind_has_a_launcher_and_only_remote_kinds_a_remote_kill(tmp_path: Path) -> None:
    assert set(nodes._LAUNCHERS) == set(NodeKind)
    pid_file = tmp_path / "1.pid"
    ssh = NodeSpec(rank=1, ip="h", kind=NodeKind.SSH, host="h", user="u")
    pod = NodeSpec(rank=1, ip="p", kind=NodeKind.K8S, pod="p", namespace="ns", container="c")
    assert nodes._remote_kill_argv(NodeSpec(rank=0, ip="x", home="~"), pid_file) is None
    ssh_argv = nodes._remote_kill_argv(ssh, pid_file)
    assert ssh_argv is not None and ssh_argv[0] == "ssh" and "u@h" in ssh_argv
    pod_argv = nodes._remote_kill_argv(pod, pid_file)
    assert pod_argv is not None and "styx.agent.kubeexec" in pod_argv and "p" in pod_argv
