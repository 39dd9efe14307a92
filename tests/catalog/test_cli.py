"""The catalog CLI objects (registered by the core CLI) and the dry-run plan view."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from styx.cli.catalog import PLAN_FIELDS, catalog, gpus, render_plan, show_gpus
from styx.optimizer import plan
from styx.resources import Resources
from tests.catalog import reference
from tests.fakes.pricing.server import PricingServer

REPO = Path(__file__).resolve().parents[2]


def run(cmd, *args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cmd, list(args), catch_exceptions=False)
    return result


def test_show_gpus_summary_lists_every_accelerator() -> None:
    result = run(show_gpus)
    assert result.exit_code == 0
    for name in ("T4", "V100", "A100", "A100-80GB", "H100", "L4", "A10G"):
        assert f"\n{name} " in result.output
    assert "aws, azure, gcp" in result.output


def test_gpus_list_name_json_is_price_ranked_per_count() -> None:
    result = run(gpus, "list", "a100", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {d["accelerator"] for d in data} == {"A100"}
    eight = [d for d in data if d["count"] == 8]
    assert {d["cloud"] for d in eight} == {"aws", "gcp", "azure"}
    assert [d["min_price"] for d in eight] == sorted(d["min_price"] for d in eight)
    assert "p4d.24xlarge" in next(d for d in eight if d["cloud"] == "aws")["instance_types"]
    assert all(d["min_price"] <= d["max_price"] for d in data)


def test_gpus_list_cloud_filter_and_unknown_name() -> None:
    data = json.loads(run(gpus, "list", "--cloud", "azure", "--json").output)
    assert {d["cloud"] for d in data} == {"azure"}
    result = run(gpus, "list", "H10")
    assert result.exit_code == 1 and "did you mean 'H100'" in result.output


def test_catalog_list_filters() -> None:
    result = run(catalog, "list", "--cloud", "gcp", "--region", "us-central1", "--gpu", "T4:1",
                 "--cpus", "8+", "--json", "--limit", "0")  # fmt: skip
    rows = json.loads(result.output)
    assert rows and all(r["cloud"] == "gcp" and r["region"] == "us-central1" for r in rows)
    assert all(r["accelerator_name"] == "T4" and r["accelerator_count"] == 1 for r in rows)
    assert all(r["vcpus"] >= 8 for r in rows)
    assert [r["price"] for r in rows] == sorted(r["price"] for r in rows)
    table = run(catalog, "list", "--memory", "4x", "--limit", "3")
    assert table.exit_code == 0 and "more; use --limit 0" in table.output
    bad = run(catalog, "list", "--cpus", "lots")
    assert bad.exit_code == 2 and "--cpus" in bad.output


def test_catalog_info_shows_provenance() -> None:
    data = json.loads(run(catalog, "info", "--json").output)
    assert [d["cloud"] for d in data] == ["aws", "gcp", "azure"]
    assert all(d["as_of"] == "2025-08-01" and "2025-08 update" in d["notes"] for d in data)
    assert all(isinstance(d["age_days"], int) and d["age_days"] >= 0 for d in data)


def test_catalog_refresh_command(pricing: PricingServer, styx_home: Path) -> None:
    ok = run(catalog, "refresh", "azure")
    assert ok.exit_code == 0 and "azure: 27 offers as of" in ok.output
    assert (styx_home / "catalog" / "azure.csv").exists()
    pricing.mode = "http500"
    bad = CliRunner().invoke(catalog, ["refresh", "aws"])
    assert bad.exit_code == 1
    assert "styx: error: aws:" in bad.output and "HTTP 500" in bad.output


# ---- render_plan ------------------------------------------------------------------------------


def test_render_plan_json_shape() -> None:
    offers = plan(Resources.from_yaml({"accelerators": "A100:8"}), 2)
    data = json.loads(render_plan(offers, output="json", alternatives=3))
    assert list(data) == ["plan", "alternatives"]
    assert len(data["plan"]) == 1 and len(data["alternatives"]) == 3
    for record in data["plan"] + data["alternatives"]:
        assert tuple(record) == PLAN_FIELDS
        assert record["accelerators"] == "A100:8" and record["num_nodes"] == 2
        assert record["total_hourly_price"] == pytest.approx(2 * record["hourly_price"])
    chosen = data["plan"][0]
    assert chosen["zone"] == offers[0].zones[0]
    assert chosen["total_hourly_price"] <= data["alternatives"][0]["total_hourly_price"]


def test_render_plan_cpu_only_has_null_accelerators_and_table() -> None:
    offers = plan(Resources.from_yaml({"cpus": "2", "memory": "4"}))
    data = json.loads(render_plan(offers, output="json"))
    assert data["plan"][0]["accelerators"] is None
    table = render_plan(offers)
    assert offers[0].instance_type in table and "TOTAL $/H" in table
    assert render_plan([]) == "No feasible offer.\n"
    assert json.loads(render_plan([], output="json")) == {"plan": [], "alternatives": []}


@pytest.mark.parametrize(
    "task, nodes",
    [({"cpus": "4+"}, 1), ({"memory": "256+"}, 1), ({"accelerators": "L4:1"}, 1),
     ({"accelerators": "H100:8"}, 1), ({"accelerators": "T4:1", "use_spot": True}, 1),
     ({"accelerators": "A10G:1"}, 4),
     ({"any_of": [{"accelerators": "V100:1"}, {"accelerators": "A100:1"}]}, 1)],
)  # fmt: skip
def test_dry_run_picks_the_brute_force_cheapest(task: dict, nodes: int) -> None:
    r = Resources.from_yaml(task)
    chosen = json.loads(render_plan(plan(r, nodes), output="json"))["plan"][0]
    expected = reference.feasible(task, nodes)
    assert chosen["total_hourly_price"] == pytest.approx(min(expected.values()), abs=1e-6)


def test_importing_the_cli_module_does_not_import_rich_or_load_catalogs() -> None:
    code = ("import sys, styx.cli.catalog; "
            "print(sorted(m for m in sys.modules if m.startswith(('rich', 'styx.catalog', "
            "'styx.optimizer'))))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": f"{REPO / 'src'}"}, check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"
