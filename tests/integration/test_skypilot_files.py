"""SkyPilot task files of each kind, through the real CLI: `launch --dryrun -o json` plans them.

The files are written here from SkyPilot's published syntax. AWS, GCP and Azure are marked
enabled the way `styx check` leaves them (``enabled_clouds.json``); a dry run plans from the
shipped catalogs and asks no cloud anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_local_cli import styx


@pytest.fixture
def clouds_home(styx_home: Path) -> Path:
    (styx_home / "enabled_clouds.json").write_text('{"enabled": ["aws", "gcp", "azure"]}')
    return styx_home


def dryrun(home: Path, tmp_path: Path, text: str, *args: str, **env: str) -> Any:
    task = tmp_path / "task.yaml"
    task.write_text(text)
    result = styx(home, "launch", "--dryrun", "-o", "json", *args, str(task), **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_an_accelerator_mapping_plans_as_a_set(clouds_home: Path, tmp_path: Path) -> None:
    plan, _ = dryrun(clouds_home, tmp_path, "resources:\n  accelerators: {L4:8, A100:4}\nrun: x\n")
    chosen = [plan["plan"][0]["accelerators"], *(a["accelerators"] for a in plan["alternatives"])]
    assert chosen[0] in ("L4:8", "A100:4")
    assert set(chosen) <= {"L4:8", "A100:4"}, chosen
    plan, _ = dryrun(clouds_home, tmp_path, "resources:\n  accelerators: {H100:1, A100:1}\n")
    assert plan["plan"][0]["accelerators"] in ("H100:1", "A100:1")


def test_a_fraction_and_a_disk_size_with_a_unit_plan(clouds_home: Path, tmp_path: Path) -> None:
    plan, err = dryrun(
        clouds_home,
        tmp_path,
        "resources:\n  accelerators: {T4: 0.5}\n  disk_size: 1TB\n  disk_tier: best\nrun: x\n",
    )
    assert plan["plan"][0]["accelerators"] == "T4:1"  # the node gets one whole T4
    assert "'resources.disk_tier' is accepted but not supported yet" in err


def test_empty_envs_are_filled_or_reported(clouds_home: Path, tmp_path: Path) -> None:
    text = "envs:\n  HF_TOKEN:\n  MODEL:\nresources: {infra: aws, cpus: 2+}\nrun: x\n"
    plan, err = dryrun(clouds_home, tmp_path, text)
    assert plan["plan"][0]["cloud"] == "aws"
    assert "envs.HF_TOKEN has no value" in err and "envs.MODEL has no value" in err
    dotenv = tmp_path / ".env"
    dotenv.write_text("# filled at launch\nexport MODEL='llama 3'\n")
    _, err = dryrun(
        clouds_home, tmp_path, text, "--env-file", str(dotenv), "--secret", "HF_TOKEN=s"
    )
    assert "no value" not in err, err


def test_a_pipeline_plans_every_stage(clouds_home: Path, tmp_path: Path) -> None:
    text = (
        "name: finetune\n---\nname: train\nresources:\n  accelerators: A100:8\nrun: t\n"
        "---\nname: serve\nresources:\n  accelerators: L4\n  infra: gcp\nrun: s\n"
    )
    plan, _ = dryrun(clouds_home, tmp_path, text)
    assert plan["pipeline"] == "finetune"
    assert [s["name"] for s in plan["stages"]] == ["train", "serve"]
    assert plan["stages"][0]["plan"][0]["accelerators"] == "A100:8"
    assert plan["stages"][1]["plan"][0]["cloud"] == "gcp"
    task = tmp_path / "task.yaml"
    result = styx(clouds_home, "launch", "-y", str(task))
    assert result.returncode != 0
    assert "managed job" in result.stderr and "styx jobs launch" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_branches_on_clouds_styx_cannot_use_are_skipped(clouds_home: Path, tmp_path: Path) -> None:
    text = (
        "resources:\n  accelerators: H100:8\n  any_of:\n    - infra: lambda\n"
        "    - infra: kubernetes\n    - infra: aws\nrun: x\n"
    )
    plan, err = dryrun(clouds_home, tmp_path, text, KUBECONFIG=str(tmp_path / "missing"))
    assert plan["plan"][0]["cloud"] == "aws"
    assert "cloud 'lambda' is not supported by Styx; branch skipped" in err
    assert "cloud 'kubernetes' is not usable" in err
    (clouds_home / "enabled_clouds.json").write_text('{"enabled": ["aws"]}')
    text = "resources:\n  accelerators: A100:8\n  ordered:\n    - infra: gcp\n    - infra: aws\n"
    plan, err = dryrun(clouds_home, tmp_path, text)
    assert plan["plan"][0]["cloud"] == "aws"
    assert "cloud 'gcp' is not enabled" in err


def test_launch_without_a_required_value_names_it(styx_home: Path, tmp_path: Path) -> None:
    task = tmp_path / "t.yaml"
    task.write_text("resources: {infra: local}\nenvs: {HF_TOKEN: }\nrun: echo $HF_TOKEN\n")
    result = styx(styx_home, "launch", "-y", "-c", "need", str(task))
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "styx: error: envs.HF_TOKEN: no value given; pass it at launch with --env HF_TOKEN="
        )
    ), result.stderr
    assert not (styx_home / "local" / "instances").exists() or not any(
        (styx_home / "local" / "instances").iterdir()
    )


def test_a_filled_value_and_the_cluster_name_reach_the_job(styx_home: Path, tmp_path: Path) -> None:
    task = tmp_path / "t.yaml"
    task.write_text(
        "resources: {infra: local}\nenvs: {MODEL: }\n"
        'run: echo "model=$MODEL sky=$SKYPILOT_CLUSTER_NAME"\n'
    )
    result = styx(styx_home, "launch", "-y", "-c", "filled", "--env", "MODEL=llama", str(task))
    try:
        assert result.returncode == 0, result.stderr
        assert "model=llama sky=filled" in result.stdout, result.stdout
    finally:
        styx(styx_home, "down", "-y", "filled")
