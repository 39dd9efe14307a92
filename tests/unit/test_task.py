from __future__ import annotations

from pathlib import Path

import pytest

from styx.errors import TaskSpecError
from styx.resources import Autostop, Quantity, Resources, parse_infra
from styx.schema import task_schema
from styx.spec import check_cluster_name
from styx.task import Task, parse_env_pairs


def test_skypilot_task_loads_unchanged(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    path = tmp_path / "task.yaml"
    path.write_text(
        """
name: train
workdir: ./code
num_nodes: 2
resources:
  infra: aws/us-east-1/us-east-1a
  cpus: 8+
  memory: 4x
  accelerators: {A100: 8}
  use_spot: true
  disk_size: 256
  ports: [8080, "9000-9002"]
  image_id: ami-123
  labels: {team: ml}
  autostop: {idle_minutes: 10, down: true}
  job_recovery: {strategy: EAGER_NEXT_REGION, max_restarts_on_errors: 3}
  max_hourly_cost: 40
envs: {LR: 0.1, DEBUG: true}
secrets: {HF_TOKEN: null}
file_mounts: {~/data: ./code}
setup: pip install torch
run: torchrun train.py
"""
    )
    task = Task.from_yaml_file(path)
    r = task.resources
    assert (r.cloud, r.region, r.zone) == ("aws", "us-east-1", "us-east-1a")
    assert r.cpus == Quantity(8, at_least=True)
    assert r.memory == Quantity(4, per_cpu=True)
    assert r.accelerators == (("A100", 8),)
    assert r.use_spot and r.disk_size == 256
    assert r.ports == (8080, 9000, 9001, 9002)
    assert r.autostop == Autostop(10, down=True)
    assert r.job_recovery is not None and r.job_recovery.max_restarts_on_errors == 3
    assert task.envs == {"LR": "0.1", "DEBUG": "true"}
    assert task.num_nodes == 2
    task.check_local_files()
    # round trip
    again = Task.from_yaml(task.to_yaml(redact_secrets=False), base_dir=task.base_dir)
    assert again.resources == task.resources and again.envs == task.envs


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"nme": "x"}, "nme", "did you mean 'name'"),
        ({"resources": {"cpu": 4}}, "resources.cpu", "did you mean 'cpus'"),
        ({"resources": {"cpus": -1}}, "resources.cpus", "expected a number above 0"),
        ({"resources": {"accelerators": "A100:zero"}}, "resources.accelerators", "COUNT"),
        ({"resources": {"accelerators": "A100:0"}}, "resources.accelerators", "COUNT from 1 to 64"),
        ({"num_nodes": 0}, "num_nodes", "expected a whole number from 1 to 512"),
        ({"num_nodes": "two"}, "num_nodes", "whole number"),
        ({"resources": {"infra": "awz"}}, "resources.infra", "did you mean 'aws'"),
        ({"resources": {"ports": "99999"}}, "resources.ports", "between 1 and 65535"),
        ({"resources": {"memory": "lots"}}, "resources.memory", "4x"),
        ({"resources": {"use_spot": "maybe"}}, "resources.use_spot", "true or false"),
        ({"envs": ["A=1"]}, "envs", "mapping"),
        ({"resources": {"infra": "aws", "cloud": "gcp"}}, "resources.infra", "not both"),
        ({"file_mounts": {"/data": "s3://Bucket"}}, "file_mounts./data", "s3 bucket name"),
        ({"resources": {"autostop": "ten minutes"}}, "resources.autostop", "duration"),
    ],
)
def test_bad_fields_name_the_field(data: dict, field: str, fragment: str) -> None:
    with pytest.raises(TaskSpecError) as info:
        Task.from_yaml(data)
    message = str(info.value)
    assert message.startswith(field), message
    assert fragment in message
    assert "\n" not in message


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaskSpecError, match="not found"):
        Task.from_yaml_file(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("run: [unclosed\n")
    with pytest.raises(TaskSpecError, match=r"invalid YAML at line \d+"):
        Task.from_yaml_file(bad)


def test_infra_forms() -> None:
    assert parse_infra("aws") == {"cloud": "aws", "region": None, "zone": None}
    assert parse_infra("k8s/my-ctx") == {"cloud": "kubernetes", "region": "my-ctx", "zone": None}
    assert parse_infra("k8s/arn:aws:eks:x/y/z")["region"] == "arn:aws:eks:x/y/z"
    assert parse_infra("ssh/pool1")["cloud"] == "ssh"
    assert parse_infra("*/us-east-1") == {"cloud": None, "region": "us-east-1", "zone": None}
    with pytest.raises(TaskSpecError):
        parse_infra("local/somewhere")


def test_candidates_any_of_and_ordered() -> None:
    r = Resources.from_yaml({"accelerators": ["A100:8", "H100:8"], "cpus": "8+"})
    assert [c.accelerators for c in r.candidates()] == [(("A100", 8),), (("H100", 8),)]
    assert all(c.cpus == Quantity(8, at_least=True) for c in r.candidates())
    r = Resources.from_yaml(
        {
            "use_spot": True,
            "ordered": [
                {"infra": "gcp", "accelerators": "L4"},
                {"infra": "aws/us-west-2", "accelerators": "A10G"},
            ],
        }
    )
    cands = r.candidates()
    assert [(c.cloud, c.region, c.accelerators) for c in cands] == [
        ("gcp", None, (("L4", 1),)),
        ("aws", "us-west-2", (("A10G", 1),)),
    ]
    assert all(c.use_spot for c in cands)


def test_cluster_names() -> None:
    assert check_cluster_name("my-cluster.1") == "my-cluster.1"
    for bad in ("has space", "a;rm -rf /", "$(x)", "-lead", "", "x" * 64):
        with pytest.raises(TaskSpecError, match="cluster name"):
            check_cluster_name(bad)


def test_env_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_ENV", "v")
    assert parse_env_pairs(["A=1", "B=x=y", "FROM_ENV"]) == {"A": "1", "B": "x=y", "FROM_ENV": "v"}
    with pytest.raises(TaskSpecError, match="--env"):
        parse_env_pairs(["=1"])


def test_schema_covers_every_field() -> None:
    from styx.resources import RESOURCE_FIELDS
    from styx.task import CORE_FIELDS, UNSUPPORTED_FIELDS

    schema = task_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(CORE_FIELDS) | set(UNSUPPORTED_FIELDS)
    (resources,) = [
        s for s in schema["properties"]["resources"]["anyOf"] if s.get("type") == "object"
    ]
    assert resources["additionalProperties"] is False
    assert set(resources["properties"]) == set(RESOURCE_FIELDS)
    # Every numeric field carries the loader's range (tests/unit/test_task_hostile.py checks
    # that the two agree value by value).
    text = str(schema)
    for bound in ("'maximum': 512", "'maximum': 65536", "'maximum': 64", "'maximum': 65535"):
        assert bound in text, bound


def test_secrets_redacted_in_yaml() -> None:
    task = Task.from_yaml({"secrets": {"TOKEN": "s3cr3t"}, "run": "true"})
    assert "s3cr3t" not in repr(task)
    assert task.to_yaml()["secrets"] == {"TOKEN": "<redacted>"}
