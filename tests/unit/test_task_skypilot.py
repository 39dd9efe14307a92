"""Task files written the way SkyPilot's documentation writes them load as SkyPilot reads them.

Each case is written here from the published syntax (SkyPilot's YAML reference and serving
docs), not copied from their example files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from styx.errors import TaskSpecError
from styx.pipeline import Pipeline, parse_task_or_pipeline
from styx.task import Task
from styx.yamlsafe import MAX_DOCUMENTS, load_yaml_documents


def load(text: str) -> Task:
    return Task.from_yaml_text(text)


# ---- accelerators given as a set of alternatives -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # YAML reads {L4:8, A100:4} as keys 'L4:8' and 'A100:4' with no values.
        ("resources:\n  accelerators: {L4:8, A100:4}\n", (("L4", 8), ("A100", 4))),
        ("resources:\n  accelerators: {H100:1, A100:1}\n", (("H100", 1), ("A100", 1))),
        ("resources:\n  accelerators: {L4: 8, A100: 4}\n", (("L4", 8), ("A100", 4))),
        ("resources:\n  accelerators: {L4, A10g, A100}\n", (("L4", 1), ("A10g", 1), ("A100", 1))),
        ("resources:\n  accelerators: [L4:8, A100:4]\n", (("L4", 8), ("A100", 4))),
    ],
)
def test_an_accelerator_set_is_a_set_of_candidates(text: str, expected: tuple) -> None:
    resources = load(text).resources
    assert resources.accelerators == expected
    assert [c.accelerators for c in resources.candidates()] == [(e,) for e in expected]
    again = Task.from_yaml(load(text).to_yaml())
    assert again.resources.accelerators == expected


def test_a_count_key_with_a_second_count_is_refused() -> None:
    with pytest.raises(TaskSpecError, match=r"resources\.accelerators\.A100:8"):
        load("resources:\n  accelerators: {'A100:8': 2}\n")


# ---- fractional accelerator counts -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["resources: {accelerators: 'T4:0.5'}", "resources: {accelerators: {T4: 0.5}}"],
)
def test_a_fractional_count_plans_one_whole_device_and_round_trips(text: str) -> None:
    resources = load(text).resources
    assert resources.accelerators == (("T4", 1),)
    assert resources.accelerator_shares == (("T4", 0.5),)
    written = resources.to_yaml()
    assert written["accelerators"] == "T4:0.5"
    assert Task.from_yaml({"resources": written}).resources == resources


@pytest.mark.parametrize("count", ["0", "-0.5", "1.5", "65", "nan", "inf", "1e-400"])
def test_counts_outside_the_fraction_or_whole_range_are_refused(count: str) -> None:
    with pytest.raises(TaskSpecError, match=r"resources\.accelerators"):
        load(f"resources: {{accelerators: 'T4:{count}'}}")


# ---- disk_size with a unit -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "gb"),
    [("1024GB", 1024), ("1TB", 1024), ("512", 512), ("256 gb", 256), ("2T", 2048), (300, 300)],
)
def test_disk_size_takes_a_unit(value: object, gb: int) -> None:
    assert Task.from_yaml({"resources": {"disk_size": value}}).resources.disk_size == gb


@pytest.mark.parametrize("value", ["100MB", "0GB", "65TB", "1.5GB", "big", "12XB"])
def test_disk_sizes_that_are_not_whole_gb_in_range_are_refused(value: str) -> None:
    with pytest.raises(TaskSpecError, match=r"resources\.disk_size: got"):
        Task.from_yaml({"resources": {"disk_size": value}})


# ---- empty environment values ----------------------------------------------------------------


def test_an_empty_env_is_required_and_filled_at_launch() -> None:
    task = load("envs:\n  HF_TOKEN:\n  MODEL: llama\nsecrets:\n  WANDB_API_KEY:\nrun: echo\n")
    assert task.envs == {"MODEL": "llama"}
    assert task.missing_values() == ["envs.HF_TOKEN", "secrets.WANDB_API_KEY"]
    with pytest.raises(TaskSpecError, match=r"^envs\.HF_TOKEN: no value given; .*--env HF_TOKEN"):
        task.check_required_values()
    filled = task.with_overrides(envs={"HF_TOKEN": "x"})
    with pytest.raises(TaskSpecError, match=r"^secrets\.WANDB_API_KEY: .*--secret WANDB_API_KEY"):
        filled.check_required_values()
    # A secret fills an env too, and stays out of what is written.
    done = task.with_overrides(secrets={"HF_TOKEN": "hf-1", "WANDB_API_KEY": "w-2"})
    done.check_required_values()
    written = yaml.safe_dump(done.to_yaml())
    assert "hf-1" not in written and "w-2" not in written
    # The declaration survives a round trip: a reloaded task still asks for the value.
    assert Task.from_yaml(task.to_yaml()).missing_values() == task.missing_values()


def test_an_empty_string_is_a_value() -> None:
    assert load("envs: {EMPTY: ''}").missing_values() == []


# ---- pipelines -------------------------------------------------------------------------------

PIPELINE = """\
name: train-then-eval
---
name: train
resources:
  accelerators: A100:8
run: python train.py
---
name: eval
resources:
  accelerators: T4
run: python eval.py
"""


def test_a_multi_document_file_is_a_pipeline() -> None:
    loaded = parse_task_or_pipeline(PIPELINE)
    assert isinstance(loaded, Pipeline)
    assert loaded.name == "train-then-eval"
    assert [s.name for s in loaded.stages] == ["train", "eval"]
    assert loaded.stages[0].resources.accelerators == (("A100", 8),)


def test_a_name_document_and_one_task_is_that_task() -> None:
    loaded = parse_task_or_pipeline("name: p\n---\nrun: echo hi\n")
    assert isinstance(loaded, Task) and loaded.name == "p" and loaded.run == "echo hi"


def test_a_bad_stage_is_named_in_one_line() -> None:
    with pytest.raises(TaskSpecError, match=r"pipeline stage 2: resources\.cpus: got") as info:
        parse_task_or_pipeline("run: a\n---\nresources: {cpus: -1}\n")
    assert "\n" not in str(info.value)


def test_every_document_is_bounded_and_so_is_their_number() -> None:
    with pytest.raises(TaskSpecError, match=f"more than {MAX_DOCUMENTS} documents"):
        load_yaml_documents("run: a\n---\n" * (MAX_DOCUMENTS + 1))
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdef", "bcdefg", strict=True)
    )
    with pytest.raises(TaskSpecError, match="aliases expand"):
        load_yaml_documents("run: a\n---\n" + laughs)
    with pytest.raises(TaskSpecError, match="duplicate key"):
        load_yaml_documents("run: a\n---\nrun: b\nrun: c\n")


def test_a_single_document_loader_still_refuses_several() -> None:
    with pytest.raises(TaskSpecError, match="another document"):
        Task.from_yaml_text(PIPELINE)


# ---- any_of branches on clouds Styx does not run ---------------------------------------------


def test_branches_on_skypilot_only_clouds_are_skipped_with_a_note() -> None:
    task = load(
        "resources:\n  accelerators: H100:8\n  any_of:\n"
        "    - infra: lambda\n    - infra: runpod/US\n    - infra: aws\n    - cloud: gcp\n"
    )
    assert [b.cloud for b in task.resources.any_of] == ["aws", "gcp"]
    assert task.resources.skipped_branches == (
        "resources.any_of[0]: cloud 'lambda' is not supported by Styx; branch skipped",
        "resources.any_of[1]: cloud 'runpod' is not supported by Styx; branch skipped",
    )


def test_no_branch_left_is_an_error_and_a_top_level_foreign_cloud_stays_one() -> None:
    with pytest.raises(TaskSpecError, match=r"^resources\.ordered: every branch .*lambda, nebius"):
        load("resources:\n  ordered:\n    - infra: lambda\n    - infra: nebius\n")
    with pytest.raises(TaskSpecError, match=r"resources\.infra: unknown cloud 'lambda'"):
        load("resources: {infra: lambda}")
    with pytest.raises(TaskSpecError, match=r"did you mean 'aws'"):  # a typo is not skipped
        load("resources:\n  any_of:\n    - infra: awz\n    - infra: gcp\n")


# ---- fields not acted on, and the service section ------------------------------------------


def test_fields_not_acted_on_warn(capsys: pytest.CaptureFixture[str]) -> None:
    from styx.task import warn_unsupported

    task = load("resources: {disk_tier: best, network_tier: best, accelerators: T4}\n")
    warn_unsupported(task)
    err = capsys.readouterr().err
    assert "'resources.disk_tier' is accepted but not supported yet" in err
    assert "'resources.network_tier'" in err


@pytest.mark.parametrize(
    "service",
    [
        "service:\n  readiness_probe: /v1/models\n  replicas: 2\n",
        "service:\n  readiness_probe:\n    path: /health\n    initial_delay_seconds: 1200\n"
        "    post_data: {model: m}\n  replica_policy:\n    min_replicas: 1\n"
        "    max_replicas: 4\n    target_qps_per_replica: 2.5\n  ports: 8080\n",
    ],
)
def test_a_valid_service_section_loads_with_a_warning(service: str) -> None:
    assert "service" in load(service + "run: serve\n").unsupported_fields


@pytest.mark.parametrize(
    ("service", "field"),
    [
        ("service: {replicas: 2}", "service.readiness_probe: missing"),
        ("service: {readiness_probe: health}", "service.readiness_probe: got 'health'"),
        (
            "service: {readiness_probe: /, replicas: 2, replica_policy: {min_replicas: 1}}",
            "not both",
        ),
        (
            "service: {readiness_probe: /, replica_policy: {min_replicas: 3, max_replicas: 1}}",
            "service.replica_policy.max_replicas: got 1",
        ),
        (
            "service: {readiness_probe: /, replica_policy: {min_replicas: 1, max_replicas: 3}}",
            "target_qps_per_replica: missing",
        ),
        ("service: {readiness_probe: /, replicas: -1}", "service.replicas: got -1"),
        ("service: {readiness_probe: /, replica: 2}", "did you mean 'replicas'"),
        ("service: {readiness_probe: /, load_balancing_policy: random}", "round_robin"),
    ],
)
def test_a_bad_service_section_is_a_one_line_error(service: str, field: str) -> None:
    with pytest.raises(TaskSpecError) as info:
        load(service)
    assert field in str(info.value) and "\n" not in str(info.value)


# ---- the job's environment -------------------------------------------------------------------


def test_jobs_see_skypilot_cluster_name() -> None:
    from styx.agent.driver import job_env
    from styx.agent.nodes import NodeSpec
    from styx.agent.protocol import ClusterInfo, JobSpec

    node = NodeSpec(rank=0, ip="127.0.0.1")
    spec = JobSpec(
        run="true", nodes=(node,), cluster_name="mycl", cluster_info=ClusterInfo("mycl", "local")
    )
    env = job_env(spec, node, [node], "run")
    assert env["SKYPILOT_CLUSTER_NAME"] == env["STYX_CLUSTER_NAME"] == "mycl"


def test_the_schema_accepts_each_kind() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from styx.schema import task_schema

    validator = jsonschema.Draft202012Validator(task_schema())
    for text in (
        "resources: {accelerators: {L4:8, A100:4}}",
        "resources: {accelerators: {A100: 0.5}, disk_size: 1TB}",
        "envs: {HF_TOKEN: }\nsecrets: {WANDB_API_KEY: }",
        "service: {readiness_probe: /health, replicas: 2}",
    ):
        data = yaml.safe_load(text)
        Task.from_yaml(data)
        assert validator.is_valid(data), text
    for text in ("service: {replicas: 2}", "resources: {accelerators: {'A100:4': 2}}"):
        data = yaml.safe_load(text)
        with pytest.raises(TaskSpecError):
            Task.from_yaml(data)
        assert not validator.is_valid(data), text


def test_command_line_overrides_keep_the_skipped_branch_notes() -> None:
    from styx.cli.launch import apply_overrides

    task = load("resources:\n  any_of:\n    - infra: lambda\n    - infra: aws\n")
    changed = apply_overrides(task, {"cpus": "4+"})
    assert str(changed.resources.any_of[0].cpus) == "4+"
    assert changed.resources.skipped_branches == task.resources.skipped_branches != ()


def test_an_env_file_is_read_within_the_task_file_bound(tmp_path: Path) -> None:
    from styx.cli.launch import read_env_file
    from styx.yamlsafe import MAX_FILE_BYTES

    ok = tmp_path / "ok.env"
    ok.write_text("export MODEL='llama 3'\n# comment\nKEY=v # trailing\n")
    assert read_env_file(str(ok)) == {"MODEL": "llama 3", "KEY": "v"}
    big = tmp_path / "big.env"
    big.write_bytes(b"A=" + b"x" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(TaskSpecError, match=r"--env-file: .* is over the \d+ bytes"):
        read_env_file(str(big))


def test_exec_from_python_refuses_a_missing_required_value(styx_home: Path) -> None:
    import styx

    task = Task.from_yaml({"envs": {"HF_TOKEN": None}, "run": "echo hi"})
    # Refused before any cluster is looked up (there is none), naming the variable.
    with pytest.raises(TaskSpecError, match="HF_TOKEN"):
        styx.exec(task, "nosuch")
