"""plan(): feasibility, optimality (against a brute-force scan), alternatives and pinning."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from styx import catalog
from styx.errors import ResourcesUnavailableError
from styx.optimizer import Offer, explain_infeasible, plan, plan_or_raise
from styx.providers.instance import InstanceType
from styx.resources import Resources
from tests.catalog import reference


def R(**data) -> Resources:
    return Resources.from_yaml(data)


def ident(o: Offer) -> tuple:
    return (o.cloud, o.region, o.instance_type, o.use_spot, o.accelerator_name,
            o.accelerator_count)  # fmt: skip


def check_against_reference(data: dict, num_nodes: int = 1, **kw) -> list[Offer]:
    """plan() for the task's ``resources`` mapping, against the independent reference model
    (which reads the same mapping, never Resources)."""
    r = R(**data)
    offers = plan(r, num_nodes, **kw)
    expected = reference.feasible(data, num_nodes, kw.get("clouds"), kw.get("inventories"))
    got = {ident(o): o.total_hourly_price for o in offers}
    assert len(got) == len(offers), "an offer is listed twice"
    assert set(got) == set(expected)
    for key, total in got.items():
        assert total == pytest.approx(expected[key])
    totals = [o.total_hourly_price for o in offers]
    if not r.ordered:
        assert totals == sorted(totals), "not ranked by total hourly price"
    if offers and not r.ordered:
        assert offers[0].total_hourly_price == pytest.approx(min(expected.values()))
    for o in offers:
        assert o.num_nodes == num_nodes
    return offers


# ---- the dry-run scenarios of the issue -------------------------------------------------------


def test_cpu_only_task_gets_cheapest_cpu_machine() -> None:
    offers = check_against_reference(dict(cpus="8+", memory="16+"))
    assert offers[0].accelerator_count == 0 and offers[0].vcpus >= 8


def test_memory_heavy_task() -> None:
    offers = check_against_reference(dict(memory="512+"))
    assert all(o.memory_gib >= 512 and not o.accelerator_count for o in offers)


def test_single_gpu_task() -> None:
    offers = check_against_reference(dict(accelerators="T4:1"))
    assert offers[0].accelerator_name == "T4" and offers[0].accelerator_count == 1


def test_eight_gpu_task() -> None:
    offers = check_against_reference(dict(accelerators="A100:8"))
    assert {o.cloud for o in offers} == {"aws", "gcp", "azure"}
    assert offers[0].instance_type in ("p4d.24xlarge", "a2-highgpu-8g", "Standard_ND96asr_v4")


def test_spot_task_uses_spot_prices_only() -> None:
    offers = check_against_reference(dict(accelerators="V100:1", use_spot=True))
    assert offers and all(o.use_spot for o in offers)
    assert all(o.hourly_price < (o.on_demand_price or 0) for o in offers)


def test_multi_node_total_price() -> None:
    offers = check_against_reference(dict(accelerators="H100:8"), num_nodes=4)
    assert offers[0].total_hourly_price == pytest.approx(4 * offers[0].hourly_price)


def test_any_of_cheapest_branch_wins() -> None:
    offers = check_against_reference(
        {"any_of": [{"accelerators": "A100:8", "cloud": "aws"}, {"accelerators": "L4:1"}]}
    )
    assert offers[0].accelerator_name == "L4"
    assert {o.accelerator_name for o in offers} == {"A100", "L4"}


def test_accelerator_candidates_list_is_price_ranked() -> None:
    offers = check_against_reference(dict(accelerators=["H100:8", "T4:1"]))
    assert offers[0].accelerator_name == "T4"


def test_ordered_keeps_the_users_order() -> None:
    offers = check_against_reference(
        {"ordered": [{"accelerators": "H100:8"}, {"accelerators": "T4:1"}]}
    )
    names = [o.accelerator_name for o in offers]
    first_t4 = names.index("T4")
    assert set(names[:first_t4]) == {"H100"} and set(names[first_t4:]) == {"T4"}
    for group in ("H100", "T4"):
        prices = [o.hourly_price for o in offers if o.accelerator_name == group]
        assert prices == sorted(prices)


def test_ordered_lists_an_offer_once() -> None:
    r = R(ordered=[{"accelerators": "T4:1", "cloud": "aws"}, {"accelerators": "T4:1"}])
    offers = plan(r)
    assert len({ident(o) for o in offers}) == len(offers)
    aws_count = sum(o.cloud == "aws" for o in offers)
    assert all(o.cloud == "aws" for o in offers[:aws_count])


# ---- constraints ------------------------------------------------------------------------------


def test_region_pin() -> None:
    offers = check_against_reference(dict(accelerators="A100:8", region="us-west-2"))
    assert offers and all(o.region == "us-west-2" for o in offers)


def test_zone_pin_leaves_only_that_zone() -> None:
    offers = check_against_reference(dict(infra="aws/us-east-1/us-east-1c", cpus="4+"))
    assert offers and all(o.zones == ("us-east-1c",) for o in offers)


def test_unpinned_offer_carries_catalog_zones_in_order() -> None:
    row = next(r for r in catalog.load("aws").rows
               if r.instance_type == "m5.xlarge" and r.region == "us-east-1")  # fmt: skip
    offer = next(o for o in plan(R(instance_type="m5.xlarge", region="us-east-1")))
    assert offer.zones == row.zones and len(offer.zones) > 1


def test_exact_vs_at_least_cpus() -> None:
    assert {o.vcpus for o in plan(R(cpus=4))} == {4.0}
    assert min(o.vcpus for o in plan(R(cpus="4+"))) == 4.0
    assert max(o.vcpus for o in plan(R(cpus="4+"))) > 4.0


def test_memory_per_cpu() -> None:
    offers = check_against_reference(dict(cpus="16+", memory="8x"))
    assert all(o.memory_gib >= 8 * o.vcpus for o in offers)


def test_accelerator_name_is_case_insensitive() -> None:
    lower = plan(R(accelerators="a100:8"))
    upper = plan(R(accelerators="A100:8"))
    assert [ident(o) for o in lower] == [ident(o) for o in upper] and lower


def test_instance_type_pin() -> None:
    offers = check_against_reference(dict(instance_type="p3.2xlarge"))
    assert offers and {o.instance_type for o in offers} == {"p3.2xlarge"}
    assert offers[0].accelerator_name == "V100"


def test_gcp_host_type_without_accelerators_is_the_plain_machine() -> None:
    offers = check_against_reference(dict(instance_type="n1-standard-8", cloud="gcp"))
    assert offers and all(o.accelerator_count == 0 for o in offers)
    attached = plan(R(instance_type="n1-standard-8", accelerators="T4:1", cloud="gcp"))
    assert attached and all(o.accelerator_name == "T4" for o in attached)
    assert attached[0].hourly_price > offers[0].hourly_price


def test_cpu_request_never_gets_a_gpu_machine() -> None:
    assert all(o.accelerator_count == 0 for o in plan(R(cpus="4+")))


def test_max_hourly_cost_caps_the_total() -> None:
    offers = check_against_reference(dict(accelerators="T4:1", max_hourly_cost=1.2), num_nodes=2)
    assert offers and all(o.total_hourly_price <= 1.2 for o in offers)


def test_enabled_clouds_only() -> None:
    offers = check_against_reference(dict(accelerators="A100:8"), clouds=["gcp"])
    assert {o.cloud for o in offers} == {"gcp"}
    assert plan(R(accelerators="A100:8", cloud="aws"), clouds=["gcp"]) == []


def test_blocked_offers_are_skipped() -> None:
    everything = plan(R(accelerators="A100:8"))
    blocked = {ident(everything[0])}
    offers = plan(R(accelerators="A100:8"), is_blocked=lambda o: ident(o) in blocked)
    assert len(offers) == len(everything) - 1 and ident(offers[0]) not in blocked


def test_default_size_and_tie_breaking_are_deterministic() -> None:
    first = plan(R())
    assert first[0].vcpus >= 8 and first[0].memory_gib >= 4 * first[0].vcpus
    assert [ident(o) for o in plan(R())] == [ident(o) for o in first]
    keys = [(o.total_hourly_price, o.vcpus, o.memory_gib, o.cloud, o.region) for o in first]
    assert keys == sorted(keys)


# ---- inventories (local, ssh, kubernetes) -----------------------------------------------------


LOCAL = {"local": {"local": [InstanceType("local-1", 1, 2), InstanceType("local-8", 8, 16)]}}
K8S = {"kubernetes": {"ctx-a": [
    InstanceType("4CPU--16GB", 4, 16, price_per_hour=0.05),
    InstanceType("8CPU--32GB--1xA100", 8, 32, "A100", 1, 40, price_per_hour=1.5),
]}}  # fmt: skip


def test_local_inventory_prefers_the_smallest_shape() -> None:
    offers = check_against_reference(dict(), inventories=LOCAL, clouds=["local"])
    assert offers[0].instance_type == "local-1" and offers[0].hourly_price == 0


def test_inventories_compete_with_catalog_on_price() -> None:
    offers = check_against_reference(dict(accelerators="A100:1"), inventories=K8S)
    assert offers[0].cloud == "kubernetes" and offers[0].region == "ctx-a"
    assert {o.cloud for o in offers} >= {"kubernetes", "gcp"}


def test_inventory_without_spot_price_has_no_spot_offer() -> None:
    assert plan(R(use_spot=True, cpus="4+"), inventories=K8S, clouds=["kubernetes"]) == []


# ---- infeasible requests ----------------------------------------------------------------------


def test_unknown_accelerator_did_you_mean() -> None:
    r = R(accelerators="H10O:8")
    assert plan(r) == []
    message = explain_infeasible(r)
    assert "no accelerator named 'H10O'" in message and "did you mean 'H100'" in message


def test_too_many_gpus_names_the_largest() -> None:
    message = explain_infeasible(R(accelerators="A100:16"), 1, ["aws", "azure"])
    assert message.startswith("no A100:16 offer in any enabled cloud")
    assert "largest is A100:8" in message
    assert "p4d.24xlarge" in message and "Standard_ND96asr_v4" in message


def test_region_without_the_gpu() -> None:
    message = explain_infeasible(R(accelerators="H100:8", region="eu-west-1"))
    assert "no H100:8 offer in region 'eu-west-1'" in message and "us-east-1" in message


def test_cpus_too_large() -> None:
    message = explain_infeasible(R(cpus="1000+"))
    assert "cpus=1000+" in message and "largest has 208" not in message
    assert "largest has 192 vCPUs" in message


def test_budget_too_small() -> None:
    message = explain_infeasible(R(accelerators="H100:8", max_hourly_cost=10))
    assert "above max_hourly_cost $10/h" in message


def test_cloud_not_enabled() -> None:
    message = explain_infeasible(R(cloud="aws", cpus=2), 1, ["gcp"])
    assert message == "cloud 'aws' is not enabled (enabled: gcp)"


def test_all_blocked_is_said() -> None:
    message = explain_infeasible(R(accelerators="H100:8"), is_blocked=lambda o: True)
    assert "blocked" in message


def test_plan_or_raise() -> None:
    with pytest.raises(ResourcesUnavailableError, match="did you mean 'V100'"):
        plan_or_raise(R(accelerators="V10:1"))
    assert plan_or_raise(R(accelerators="V100:1"))


# ---- randomised optimality against brute force ------------------------------------------------

ACCS = ["T4", "t4", "V100", "A100", "A100-80GB", "H100", "L4", "A10G", "P100", "A10"]
CPU_VALUES = [1, 2, 4, 8, 16, 32, 48, 96]
REGIONS = [None, None, None, "us-east-1", "us-central1", "eastus", "europe-west4", "eu-west-1"]


@st.composite
def requests(draw) -> dict:
    data: dict = {}
    if draw(st.booleans()):
        data["accelerators"] = (
            f"{draw(st.sampled_from(ACCS))}:{draw(st.sampled_from([1, 2, 4, 8]))}"
        )
    if draw(st.booleans()):
        data["cpus"] = f"{draw(st.sampled_from(CPU_VALUES))}{draw(st.sampled_from(['', '+']))}"
    if draw(st.booleans()):
        data["memory"] = draw(st.sampled_from(["16+", "64+", "4x", "8x", "32", "256+"]))
    if draw(st.booleans()):
        data["use_spot"] = True
    if region := draw(st.sampled_from(REGIONS)):
        data["region"] = region
    if draw(st.integers(0, 4)) == 0:
        data["cloud"] = draw(st.sampled_from(["aws", "gcp", "azure"]))
    if draw(st.integers(0, 4)) == 0:
        data["max_hourly_cost"] = draw(st.sampled_from([0.5, 2, 10, 40]))
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=requests(),
    other=requests(),
    combine=st.sampled_from(["single", "any_of", "ordered"]),
    num_nodes=st.integers(1, 4),
    clouds=st.sampled_from([None, ("aws",), ("gcp", "azure")]),
)
def test_plan_matches_brute_force(request, other, combine, num_nodes, clouds) -> None:
    data = request if combine == "single" else {combine: [request, other]}
    offers = check_against_reference(data, num_nodes, clouds=clouds)
    for o in offers:  # feasibility, constraint by constraint, from the raw request
        branch_ok = any(
            (c["acc"] is None or (o.accelerator_name or "").lower() == c["acc"][0].lower())
            and ("cpus" not in c or reference.admits(c["cpus"], o.vcpus))
            and ("memory" not in c or reference.admits(c["memory"], o.memory_gib, o.vcpus))
            and (not c.get("region") or o.region == c["region"])
            and (not c.get("cloud") or o.cloud == c["cloud"])
            and o.use_spot == bool(c.get("use_spot"))
            for c in reference.choices(data)
        )
        assert branch_ok, o
