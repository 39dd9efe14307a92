"""Issue 13: SkyPilot task files plan unchanged: the new accelerators, the smaller H100 shapes,
SkyPilot's default sizes, the dry-run entry fields and the old-catalog hint.

Each task below is written in SkyPilot's published task-file syntax (``resources:`` with
``accelerators: NAME:COUNT``, ``infra:``/``cloud:``, ``cpus``/``memory`` strings, ``ports``,
``disk_size``, ``image_id``) and goes through the real loader and the real CLI.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from styx import catalog
from styx.catalog.age import age_days, max_age_days, stale_hint
from styx.cli.catalog import catalog as catalog_cmd
from styx.cli.launch import launch
from styx.errors import StyxError
from styx.optimizer import plan
from styx.resources import Resources
from styx.task import Task
from tests.catalog import reference


def plan_task(text: str, **kw) -> list:  # type: ignore[no-untyped-def]
    task = Task.from_yaml(yaml.safe_load(text))
    return plan(task.resources, task.num_nodes, **kw)


def dryrun(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "task.yaml"
    path.write_text(text)
    result = CliRunner().invoke(launch, ["--dryrun", "-o", "json", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ---- new accelerators, on every cloud that has them -------------------------------------------


@pytest.mark.parametrize(
    ("accelerators", "cloud", "instance_types"),
    [
        ("H200:8", "aws", {"p5e.48xlarge", "p5en.48xlarge"}),
        ("H200:8", "gcp", {"a3-ultragpu-8g"}),
        ("H200:8", "azure", {"Standard_ND96isr_H200_v5"}),
        ("B200:8", "aws", {"p6-b200.48xlarge"}),
        ("B200:8", "gcp", {"a4-highgpu-8g"}),
        ("L40S:1", "aws", {"g6e.xlarge", "g6e.2xlarge", "g6e.4xlarge", "g6e.8xlarge",
                           "g6e.16xlarge"}),
        ("L40S:8", "aws", {"g6e.48xlarge"}),
        ("Inferentia2:1", "aws", {"inf2.xlarge", "inf2.8xlarge"}),
        ("Inferentia2:12", "aws", {"inf2.48xlarge"}),
        ("Trainium:1", "aws", {"trn1.2xlarge"}),
        ("Trainium:16", "aws", {"trn1.32xlarge", "trn1n.32xlarge"}),
        ("Trainium2:16", "aws", {"trn2.48xlarge"}),
        # The smaller H100 shapes.
        ("H100:1", "aws", {"p5.4xlarge"}),
        ("H100:1", "gcp", {"a3-highgpu-1g"}),
        ("H100:2", "gcp", {"a3-highgpu-2g"}),
        ("H100:4", "gcp", {"a3-highgpu-4g"}),
        ("H100:1", "azure", {"Standard_NC40ads_H100_v5"}),
        ("H100:2", "azure", {"Standard_NC80adis_H100_v5"}),
    ],
)  # fmt: skip
def test_accelerator_plans_on_its_instance_types(
    accelerators: str, cloud: str, instance_types: set[str]
) -> None:
    text = f"resources:\n  infra: {cloud}\n  accelerators: {accelerators}\nrun: nvidia-smi\n"
    offers = plan_task(text)
    name, count = accelerators.split(":")
    assert offers, accelerators
    assert {o.instance_type for o in offers} == instance_types
    assert all((o.accelerator_name, o.accelerator_count) == (name, int(count)) for o in offers)
    assert all(o.cloud == cloud for o in offers)


def test_h200_set_of_candidates_over_three_clouds() -> None:
    offers = plan_task("resources:\n  accelerators: {H200: 8}\n")
    assert {o.cloud for o in offers} == {"aws", "gcp", "azure"}
    prices = [o.total_hourly_price for o in offers]
    assert prices == sorted(prices)


def test_accelerator_names_are_case_insensitive_and_spelled_like_skypilot() -> None:
    offers = plan_task("resources:\n  accelerators: trainium2:16\n")
    assert offers and offers[0].accelerator_name == "Trainium2"
    names = {r.accelerator_name for c in ("aws", "gcp", "azure") for r in catalog.load(c).rows}
    assert {"H200", "B200", "L40S", "Inferentia2", "Trainium", "Trainium2"} <= names


def test_aws_p4_p5_prices_reflect_the_2025_cut() -> None:
    rows = {(r.instance_type, r.region): r for r in catalog.load("aws").rows}
    assert rows[("p5.48xlarge", "us-east-1")].price == pytest.approx(55.04)
    assert rows[("p4d.24xlarge", "us-east-1")].price == pytest.approx(21.96)
    # The cut makes AWS the cheapest eight-A100 offer again.
    assert plan_task("resources:\n  accelerators: A100:8\n")[0].instance_type == "p4d.24xlarge"


# ---- SkyPilot's default sizes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [("aws", "m6i.2xlarge"), ("gcp", "n2-standard-8"), ("azure", "Standard_D8s_v5")],
)
def test_no_resources_plans_eight_vcpus_with_four_gib_each(cloud: str, expected: str) -> None:
    offers = plan_task(f"resources:\n  infra: {cloud}\nrun: echo hi\n")
    assert offers[0].instance_type == expected
    assert offers[0].vcpus == 8 and offers[0].memory_gib == 32


def test_no_resources_section_at_all_uses_the_same_default() -> None:
    offers = plan_task("run: echo hi\n", clouds=["aws"])
    assert offers[0].vcpus >= 8 and offers[0].memory_gib >= 4 * offers[0].vcpus


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_cpus_without_memory_gets_four_gib_per_vcpu_and_no_burstable(cloud: str) -> None:
    offers = plan_task(f"resources:\n  infra: {cloud}\n  cpus: 2+\n")
    best = offers[0]
    assert best.vcpus >= 2 and best.memory_gib >= 4 * best.vcpus
    for o in offers:
        assert not o.instance_type.startswith(("t3.", "e2-", "m5.", "c5.", "r5.", "n1-"))
        assert not o.instance_type.startswith(("Standard_B",))
    if cloud == "aws":
        assert best.instance_type == "m6i.large"  # 2 vCPU / 8 GiB, not t3.micro's 1 GiB


def test_memory_only_leaves_cpus_free() -> None:
    offers = plan_task("resources:\n  infra: aws\n  memory: 64+\n")
    assert offers[0].memory_gib >= 64
    assert offers[0].instance_type.split(".")[0] in {"m6i", "m7i", "c6i", "c7i", "r6i", "r7i"}


def test_explicit_instance_type_and_gpus_are_not_defaulted() -> None:
    assert plan_task("resources:\n  instance_type: t3.micro\n")[0].memory_gib == 1
    gpu = plan_task("resources:\n  infra: aws\n  accelerators: T4:1\n")[0]
    assert gpu.instance_type == "g4dn.xlarge"  # 4 vCPU: no 8+ default for GPU requests


def test_default_rule_matches_the_reference_scan() -> None:
    for data in ({}, {"cpus": "2+"}, {"memory": "16+"}, {"cpus": 4, "memory": "2x"}):
        r = Resources.from_yaml(data)
        got = {(o.cloud, o.region, o.instance_type, o.use_spot) for o in plan(r)}
        want = {k[:4] for k in reference.feasible(data)}
        assert got == want, data


def test_inventory_clouds_keep_their_own_small_default() -> None:
    from styx.providers.instance import InstanceType

    local = {"local": {"local": [InstanceType("local-1cpu", 1, 2), InstanceType("local-2", 2, 4)]}}
    offers = plan(Resources(), inventories=local, clouds=["local"])
    assert offers[0].instance_type == "local-1cpu"


# ---- the dry-run entry fields -----------------------------------------------------------------


def test_dryrun_json_has_disk_size_ports_and_image(tmp_path: Path, styx_home: Path) -> None:
    text = (
        "resources:\n  infra: aws\n  accelerators: L40S:1\n  disk_size: 512\n"
        "  ports: [8000, 8080]\n  image_id: ami-0123456789abcdef0\nrun: python serve.py\n"
    )
    data = dryrun(tmp_path, text)
    for entry in data["plan"] + data["alternatives"]:
        assert entry["disk_size"] == 512
        assert entry["ports"] == [8000, 8080]
        assert entry["image_id"] == "ami-0123456789abcdef0"
    assert data["plan"][0]["instance_type"] == "g6e.xlarge"


def test_dryrun_json_takes_each_any_of_branchs_own_fields(tmp_path: Path, styx_home: Path) -> None:
    text = (
        "resources:\n  any_of:\n"
        "    - {infra: aws, accelerators: H100:1, disk_size: 100}\n"
        "    - {infra: gcp, accelerators: H100:1, disk_size: 300, ports: 8888}\n"
    )
    data = dryrun(tmp_path, text)
    by_cloud = {e["cloud"]: e for e in data["plan"] + data["alternatives"]}
    assert by_cloud["aws"]["disk_size"] == 100 and by_cloud["aws"]["ports"] == []
    assert by_cloud["gcp"]["disk_size"] == 300 and by_cloud["gcp"]["ports"] == [8888]
    assert by_cloud["aws"]["image_id"] is None


# ---- snapshot date and the old-catalog hint ---------------------------------------------------


def write_config(home: Path, text: str) -> None:
    (home / "config.yaml").write_text(text)


def test_catalog_info_and_bare_catalog_show_the_snapshot_date(styx_home: Path) -> None:
    for args in (["info"], []):
        result = CliRunner().invoke(catalog_cmd, args)
        assert result.exit_code == 0, result.output
        assert "SNAPSHOT DATE" in result.output and "2025-08-01" in result.output


def test_old_snapshot_prints_a_refresh_hint_on_dryrun(tmp_path: Path, styx_home: Path) -> None:
    text = "resources:\n  infra: aws\n  cpus: 4+\n"
    write_config(styx_home, "catalog:\n  max_age_days: 1\n")
    path = tmp_path / "t.yaml"
    path.write_text(text)
    result = CliRunner().invoke(launch, ["--dryrun", "-o", "json", str(path)])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # the hint stays out of the JSON
    hint = [line for line in result.stderr.splitlines() if "styx catalog refresh" in line]
    assert len(hint) == 1 and "aws (as of 2025-08-01" in hint[0]
    info = CliRunner().invoke(catalog_cmd, ["info"])
    assert "(old)" in info.output and "styx catalog refresh" in info.output

    write_config(styx_home, "catalog:\n  max_age_days: 0\n")  # 0: never hint
    quiet = CliRunner().invoke(launch, ["--dryrun", "-o", "json", str(path)])
    assert quiet.exit_code == 0 and "refresh" not in quiet.stderr


def test_stale_hint_uses_the_configured_age(styx_home: Path) -> None:
    assert max_age_days() == 180  # the documented default
    as_of = catalog.load("gcp").provenance.as_of
    day = dt.date.fromisoformat(as_of)
    assert stale_hint(["gcp"], today=day + dt.timedelta(days=180)) is None
    hint = stale_hint(["gcp", "local"], today=day + dt.timedelta(days=181))
    assert hint is not None and "gcp (as of" in hint and "181 days old" in hint
    assert stale_hint(["local", "kubernetes"], today=day + dt.timedelta(days=999)) is None
    assert age_days("not-a-date") is None


@pytest.mark.parametrize("value", ["-1", "soon", "true", "[1]"])
def test_bad_max_age_is_a_one_line_error(styx_home: Path, value: str) -> None:
    write_config(styx_home, f"catalog:\n  max_age_days: {value}\n")
    with pytest.raises(StyxError, match=r"catalog\.max_age_days: got .*expected a whole number"):
        max_age_days()
