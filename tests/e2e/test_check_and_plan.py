"""`styx check` against the three fake clouds, and where `launch --dryrun` puts GPU tasks then."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clouds import aws_section, azure_section, gcp_section
from tests.e2e.conftest import Cli, base_env, write_config
from tests.fakes.aws.moto_server import MotoServer, aws_env
from tests.fakes.azure.server import FakeArmServer
from tests.fakes.gcp.backend import FakeGCE

CLOUDS = ("aws", "gcp", "azure")


def _check(cli: Cli) -> dict[str, dict[str, Any]]:
    rows = json.loads(cli("check", *CLOUDS, "--json").stdout)
    return {r["cloud"]: r for r in rows}


@pytest.fixture
def all_clouds(
    moto: MotoServer, gce: FakeGCE, arm: FakeArmServer, styx_home: Path, tmp_path: Path
) -> Cli:
    write_config(
        styx_home,
        {"aws": aws_section(), "gcp": gcp_section(gce), "azure": azure_section(arm)},
    )
    return Cli(styx_home, {**base_env(styx_home, tmp_path), **aws_env(moto)})


def test_check_enables_the_fakes(all_clouds: Cli, styx_home: Path) -> None:
    found = _check(all_clouds)
    assert {c: found[c]["enabled"] for c in CLOUDS} == dict.fromkeys(CLOUDS, True), found
    assert "styx-e2e" in found["gcp"]["detail"]
    assert "0000000e2e00" in found["azure"]["detail"]
    enabled = json.loads((styx_home / "enabled_clouds.json").read_text())["enabled"]
    assert set(CLOUDS) <= set(enabled)


def test_check_without_credentials_says_why(styx_home: Path, tmp_path: Path) -> None:
    cli = Cli(styx_home, base_env(styx_home, tmp_path))  # no keys, no config file
    found = _check(cli)
    for cloud in CLOUDS:
        assert found[cloud]["enabled"] is False, found[cloud]
        assert found[cloud]["detail"].strip(), found[cloud]
    assert "credential" in found["aws"]["detail"].lower(), found["aws"]
    assert "credential" in found["gcp"]["detail"].lower(), found["gcp"]
    assert "subscription" in found["azure"]["detail"].lower(), found["azure"]
    assert json.loads((styx_home / "enabled_clouds.json").read_text())["enabled"] == []


@pytest.mark.parametrize(
    ("gpus", "cloud", "instance_type"),
    [
        # Per the shipped catalog (`styx gpus list A100`): one A100 is cheapest on GCP,
        # eight on AWS since its 2025 P4 price cut; an A10G only AWS offers.
        ("A100:1", "gcp", "a2-highgpu-1g"),
        ("A100:8", "aws", "p4d.24xlarge"),
        ("A10G:1", "aws", "g5.xlarge"),
    ],
)
def test_dryrun_picks_the_cheapest_enabled_cloud(
    all_clouds: Cli, gpus: str, cloud: str, instance_type: str
) -> None:
    assert all(r["enabled"] for r in _check(all_clouds).values())
    out = all_clouds("launch", "--dryrun", "-o", "json", "--gpus", gpus, "echo hi").stdout
    plan = json.loads(out)
    chosen = plan["plan"][0]
    assert (chosen["cloud"], chosen["instance_type"]) == (cloud, instance_type), plan
    if gpus == "A100:8":  # after AWS's other regions, Azure's ND96asr_v4 is next
        assert "azure" in {a["cloud"] for a in plan["alternatives"]}, plan
