"""styx catalog refresh against local servers that answer in the clouds' real formats."""

from __future__ import annotations

import datetime as dt
import socket
import time
from pathlib import Path

import pytest

from styx import catalog
from styx.catalog.refresh import refresh
from styx.catalog.schema import RefreshError
from styx.catalog.store import SHIPPED_DIR
from styx.optimizer import plan
from styx.resources import Resources
from tests.fakes.pricing.server import PricingServer

TODAY = dt.datetime.now(dt.UTC).date().isoformat()


def rows_by(cat: catalog.Catalog) -> dict[tuple, catalog.CatalogRow]:
    return {(r.instance_type, r.accelerator_name, r.accelerator_count, r.region): r
            for r in cat.rows}  # fmt: skip


def test_aws_refresh_from_offer_files(pricing: PricingServer, styx_home: Path) -> None:
    shipped = catalog.load("aws")
    cat = refresh("aws")
    assert cat.path == styx_home / "catalog" / "aws.csv"
    assert cat.provenance.as_of == TODAY and pricing.url in cat.provenance.source
    got = rows_by(cat)
    regions = {r.region for r in shipped.rows}
    assert {r.region for r in cat.rows} == regions
    assert {r.instance_type for r in cat.rows} == {
        "m5.large", "m5.xlarge", "m5.metal", "g5.xlarge", "p4d.24xlarge"}  # fmt: skip
    assert got[("m5.large", None, 0, "us-east-1")].price == pytest.approx(0.09)
    assert got[("m5.large", None, 0, "eu-west-1")].price == pytest.approx(0.099)
    p4d = got[("p4d.24xlarge", "A100", 8, "us-east-1")]
    assert (p4d.vcpus, p4d.memory_gib, p4d.accelerator_memory_gib) == (96, 1152, 40)
    assert p4d.zones == rows_by(shipped)[("p4d.24xlarge", "A100", 8, "us-east-1")].zones
    metal = got[("m5.metal", None, 0, "us-east-1")]  # new size of a known family
    assert metal.vcpus == 96 and metal.zones
    assert 0 < p4d.spot_price < p4d.price
    assert len(pricing.requests) == len(regions)
    # The refreshed catalog is the one the optimizer now uses.
    catalog.clear_cache()
    best = plan(Resources.from_yaml({"accelerators": "A100:8", "cloud": "aws"}))[0]
    assert best.hourly_price == pytest.approx(21.96)


def test_azure_refresh_follows_next_page_link(pricing: PricingServer) -> None:
    cat = refresh("azure")
    got = rows_by(cat)
    assert {r.instance_type for r in cat.rows} == {
        "Standard_D2s_v5", "Standard_D4s_v5", "Standard_ND96asr_v4"}  # fmt: skip
    d2 = got[("Standard_D2s_v5", None, 0, "westeurope")]
    assert d2.price == pytest.approx(0.108) and d2.spot_price == pytest.approx(0.018)
    assert got[("Standard_D4s_v5", None, 0, "eastus")].spot_price is None
    nd = got[("Standard_ND96asr_v4", "A100", 8, "eastus")]
    assert (nd.price, nd.spot_price, nd.vcpus) == (27.0, 9.0, 96)
    regions = {r.region for r in catalog.load("azure").rows}
    assert len(pricing.requests) == 4 * len(regions)  # 8 items, 2 a page
    assert all("armRegionName+eq" in p or "armRegionName%20eq" in p for p in pricing.requests)


def test_gcp_refresh_prices_from_components(pricing: PricingServer) -> None:
    cat = refresh("gcp")
    got = rows_by(cat)
    assert {r.region for r in cat.rows} == {"us-central1", "europe-west4"}
    n2 = got[("n2-standard-4", None, 0, "us-central1")]
    assert n2.price == pytest.approx(4 * 0.031611 + 16 * 0.004237)
    assert n2.spot_price == pytest.approx(4 * 0.00765 + 16 * 0.001025)
    assert got[("n2-standard-4", None, 0, "europe-west4")].price == pytest.approx(
        n2.price * 1.1, abs=1e-6
    )
    t4 = got[("n1-standard-8", "T4", 1, "us-central1")]
    assert t4.price == pytest.approx(8 * 0.031611 + 30 * 0.004237 + 0.35)
    assert t4.spot_price is None
    a2 = got[("a2-highgpu-8g", "A100", 8, "us-central1")]
    assert a2.price == pytest.approx(96 * 0.031611 + 680 * 0.004237 + 8 * 2.933908)
    # No GPU price for V100 / A100-80GB in the sample, and no E2/C3 prices: those are dropped.
    names = {(r.instance_type, r.accelerator_name) for r in cat.rows}
    assert ("n1-standard-8", "V100") not in names and not any(n.startswith("e2") for n, _ in names)
    assert any("pageToken=" in p for p in pricing.requests)


@pytest.mark.parametrize("mode, message", [("http500", "HTTP 500"), ("garbage", "not JSON")])
def test_bad_answer_keeps_the_old_catalog(
    pricing: PricingServer, styx_home: Path, mode: str, message: str
) -> None:
    pricing.mode = mode
    with pytest.raises(RefreshError, match=message) as info:
        refresh("azure")
    assert "catalog unchanged" in str(info.value) and "\n" not in str(info.value)
    assert not (styx_home / "catalog" / "azure.csv").exists()
    assert catalog.load("azure").path == SHIPPED_DIR / "azure.csv"


def test_failed_refresh_keeps_a_previous_refresh(pricing: PricingServer, styx_home: Path) -> None:
    refresh("aws")
    before = (styx_home / "catalog" / "aws.csv").read_text()
    pricing.mode = "http500"
    with pytest.raises(RefreshError):
        refresh("aws")
    assert (styx_home / "catalog" / "aws.csv").read_text() == before
    assert sorted(p.name for p in (styx_home / "catalog").iterdir()) == ["aws.csv"]


def test_offline_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a free loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("STYX_GCP_BILLING_URL", f"http://127.0.0.1:{port}/v1")
    start = time.monotonic()
    with pytest.raises(RefreshError, match=r"cannot reach http://127\.0\.0\.1:\d+/v1/services"):
        refresh("gcp")
    assert time.monotonic() - start < 10  # refused at once; the bound leaves room for load


def test_hanging_server_times_out(pricing: PricingServer) -> None:
    pricing.mode = "hang"
    start = time.monotonic()
    with pytest.raises(RefreshError, match="cannot reach"):
        refresh("aws", timeout=0.3)
    assert time.monotonic() - start < 15  # the server never answers: only the timeout ends it


def test_unknown_cloud() -> None:
    with pytest.raises(RefreshError, match="expected one of aws, gcp, azure"):
        refresh("oracle")
