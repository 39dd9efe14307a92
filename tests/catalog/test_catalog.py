"""The shipped snapshot: coverage, format, provenance; refreshed-file preference and fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from styx import catalog
from styx.catalog.schema import COLUMNS, SCHEMA_VERSION, CatalogError, Provenance
from styx.catalog.store import SHIPPED_DIR, read_catalog, write_catalog
from styx.optimizer import plan
from styx.resources import Resources

FAMILIES = {
    "aws": ["t3.", "m5.", "m6i.", "m7i.", "c5.", "c6i.", "r5.", "r6i.", "g4dn.", "g5.", "g6.",
            "p3.", "p4d.", "p5.", "c7i.", "r7i.", "p4de.", "p5e.", "p5en.", "p6-b200.", "g6e.",
            "inf2.", "trn1.", "trn1n.", "trn2."],
    "gcp": ["e2-", "n1-", "n2-", "c2-", "c3-", "a2-", "a3-", "a4-", "g2-"],
    "azure": ["Standard_D", "Standard_E", "Standard_F", "Standard_NC", "Standard_ND"],
}  # fmt: skip
REGIONS = {
    "aws": ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"],
    "gcp": ["us-central1", "us-east1", "us-west1", "europe-west4", "asia-east1"],
    "azure": ["eastus", "eastus2", "westus2", "westeurope", "northeurope"],
}  # fmt: skip


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_shipped_snapshot_covers_families_and_regions(cloud: str) -> None:
    cat = catalog.load(cloud)
    names = {r.instance_type for r in cat.rows}
    for prefix in FAMILIES[cloud]:
        assert any(n.startswith(prefix) for n in names), prefix
    assert set(REGIONS[cloud]) <= {r.region for r in cat.rows}
    assert 100 <= len(cat.rows) <= 1500
    for row in cat.rows:
        assert row.price > 0 and row.vcpus > 0 and row.memory_gib > 0 and row.zones
        assert row.spot_price is None or 0 < row.spot_price < row.price
        assert bool(row.accelerator_name) == (row.accelerator_count > 0)
    assert cat.path == SHIPPED_DIR / f"{cloud}.csv"


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_provenance_header(cloud: str) -> None:
    prov = catalog.load(cloud).provenance
    assert prov.schema_version == SCHEMA_VERSION and prov.cloud == cloud
    assert prov.as_of == "2025-08-01"
    assert "transcribed from public list prices (reference region), first as of 2024-06" in (
        prov.notes
    )
    assert "2025-08 update from the" in prov.notes  # what changed, and from which list
    assert "spot prices are estimates" in prov.notes
    assert prov.source
    lines = (SHIPPED_DIR / f"{cloud}.csv").read_text().splitlines()
    assert lines[1] == ",".join(COLUMNS)


def test_gcp_attachable_gpus_are_priced_as_host_plus_gpu() -> None:
    rows = [r for r in catalog.load("gcp").rows
            if r.instance_type == "n1-standard-8" and r.region == "us-central1"]  # fmt: skip
    plain = next(r for r in rows if not r.accelerator_name)
    t4 = next(r for r in rows if r.accelerator_name == "T4" and r.accelerator_count == 1)
    assert t4.price == pytest.approx(plain.price + 0.35)
    assert {r.accelerator_name for r in rows} >= {None, "T4", "V100", "P100"}


def test_load_is_cached() -> None:
    """A second load is the same object, not a re-read (load times: bench/optimizer_bench.py)."""
    first = {cloud: catalog.load(cloud) for cloud in ("aws", "gcp", "azure")}
    assert all(catalog.load(cloud) is loaded for cloud, loaded in first.items())


def _user_file(home: Path, cloud: str = "aws") -> Path:
    return home / "catalog" / f"{cloud}.csv"


def _write_user(home: Path, as_of: str, price: float) -> None:
    shipped = catalog.load("aws")
    rows = [r for r in shipped.rows if r.instance_type == "m6i.large"]
    rows = [type(r)(**{**{s: getattr(r, s) for s in r.__slots__}, "price": price}) for r in rows]
    write_catalog(_user_file(home), Provenance(SCHEMA_VERSION, "aws", as_of, "test", ""), rows)
    catalog.clear_cache()


def test_newer_refreshed_file_wins(styx_home: Path) -> None:
    _write_user(styx_home, "2099-01-01", 0.01)
    cat = catalog.load("aws")
    assert cat.path == _user_file(styx_home) and {r.price for r in cat.rows} == {0.01}
    assert plan(Resources.from_yaml({"cloud": "aws", "cpus": 2}))[0].hourly_price == 0.01


def test_older_refreshed_file_is_ignored(styx_home: Path) -> None:
    _write_user(styx_home, "2001-01-01", 0.01)
    assert catalog.load("aws").path == SHIPPED_DIR / "aws.csv"


@pytest.mark.parametrize(
    "content, why",
    [
        ("garbage\n", "provenance header"),
        ('# {"schema_version": 99, "cloud": "aws", "as_of": "2099-01-01", "source": "x"}\n'
         + ",".join(COLUMNS) + "\n", "schema version 99"),
        ('# {"schema_version": 1, "cloud": "aws", "as_of": "2099-01-01", "source": "x"}\n'
         "instance_type,price\n", "column header"),
        ('# {"schema_version": 1, "cloud": "aws", "as_of": "2099-01-01", "source": "x"}\n'
         + ",".join(COLUMNS) + "\nm5.large,two,8,,,,0.1,,us-east-1,us-east-1a\n", ":3"),
        ('# {"schema_version": 1, "cloud": "gcp", "as_of": "2099-01-01", "source": "x"}\n',
         "expected 'aws'"),
    ],
)  # fmt: skip
def test_corrupt_refreshed_file_warns_and_falls_back(
    styx_home: Path, capsys: pytest.CaptureFixture[str], content: str, why: str
) -> None:
    path = _user_file(styx_home)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    cat = catalog.load("aws")
    assert cat.path == SHIPPED_DIR / "aws.csv"
    err = capsys.readouterr().err
    assert "styx: warning: ignoring refreshed catalog" in err and why in err
    assert plan(Resources.from_yaml({"accelerators": "A100:8", "cloud": "aws"}))


def test_missing_shipped_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        read_catalog(tmp_path / "nope.csv", "aws")
    with pytest.raises(CatalogError, match="no catalog for cloud 'oracle'"):
        catalog.load("oracle")


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    rows = list(catalog.load("azure").rows[:5])
    target = tmp_path / "out" / "azure.csv"
    write_catalog(target, catalog.load("azure").provenance, rows)
    assert [p.name for p in target.parent.iterdir()] == ["azure.csv"]
    assert read_catalog(target, "azure").rows == tuple(
        sorted(
            rows,
            key=lambda r: (
                r.instance_type,
                r.accelerator_name or "",
                r.accelerator_count,
                r.region,
            ),
        )
    )


def test_snapshot_is_reproducible_from_the_builder(tmp_path: Path) -> None:
    from styx.catalog import build_snapshot

    rows = build_snapshot.aws_rows()
    prov = Provenance(SCHEMA_VERSION, "aws", build_snapshot.AS_OF, build_snapshot.SOURCES["aws"],
                      build_snapshot.notes("aws"))  # fmt: skip
    write_catalog(tmp_path / "aws.csv", prov, rows)
    assert (tmp_path / "aws.csv").read_text() == (SHIPPED_DIR / "aws.csv").read_text()
