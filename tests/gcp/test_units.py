"""Pure parts of the GCP provider: names, labels, states, the instance-type convention."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from styx.errors import InvalidRequestError
from styx.providers.gcp import naming
from styx.providers.gcp.machines import parse_instance_type
from styx.providers.gcp.states import STATUS_TABLE, map_status
from styx.providers.instance import InstanceState, new_instance_id


@given(st.text(max_size=120))
def test_label_values_always_valid_and_distinct(value: str) -> None:
    encoded = naming.label_value(value)
    assert naming._LABEL_VALUE_OK.match(encoded)
    other = value + "x"
    assert naming.label_value(other) != encoded


@given(st.text(max_size=120))
def test_derived_gce_names_are_valid(value: str) -> None:
    for name in (
        naming.instance_name(value),
        naming.firewall_name(value),
        naming.network_tag(value),
    ):
        assert naming.is_valid_name(name), name
    assert naming._LABEL_KEY_OK.match(naming.label_key(value))


def test_instance_name_and_request_id_follow_the_styx_id() -> None:
    sid = new_instance_id()
    assert naming.instance_name(sid) == f"styx-{sid}"
    rid = naming.insert_request_id
    assert rid(sid, "us-central1-a") == rid(sid, "us-central1-a")
    assert rid(sid, "us-central1-a") != rid(new_instance_id(), "us-central1-a")
    assert rid(sid, "us-central1-a") != rid(sid, "us-central1-b")
    assert naming.label_value(sid) == sid  # Styx ids need no encoding


def test_status_table() -> None:
    assert map_status("PROVISIONING") == (InstanceState.PENDING, None)
    assert map_status("STAGING")[0] is InstanceState.PENDING
    assert map_status("RUNNING")[0] is InstanceState.RUNNING
    for stopped in ("STOPPING", "SUSPENDING", "SUSPENDED", "TERMINATED"):
        assert STATUS_TABLE[stopped] is InstanceState.STOPPED
    assert map_status("REPAIRING")[0] is InstanceState.ERROR
    assert map_status("SOMETHING_NEW") == (InstanceState.ERROR, "SOMETHING_NEW")


def test_instance_type_convention() -> None:
    spec = parse_instance_type("n1-standard-8+nvidia-tesla-t4:2")
    assert (spec.machine_type, spec.accelerator, spec.accelerator_count) == (
        "n1-standard-8",
        "nvidia-tesla-t4",
        2,
    )
    assert spec.canonical == "n1-standard-8+nvidia-tesla-t4:2" and spec.has_gpus
    assert parse_instance_type("n1-standard-8+nvidia-tesla-t4", num_gpus=4).accelerator_count == 4
    assert parse_instance_type("a2-highgpu-1g", num_gpus=1).bundled_gpus
    assert not parse_instance_type("e2-standard-2").has_gpus
    for bad in ("n1-standard-8+nvidia-tesla-t4:x", "n1-standard-8+:1", "+t4:1"):
        with pytest.raises(InvalidRequestError):
            parse_instance_type(bad)


def test_optimizer_offer_attaches_named_gpu_to_n1() -> None:
    # The optimizer's GCP offers name the host (n1-standard-8) and carry the GPU separately.
    spec = parse_instance_type("n1-standard-8", num_gpus=2, accelerator_name="T4")
    assert (spec.accelerator, spec.accelerator_count) == ("nvidia-tesla-t4", 2)
    assert parse_instance_type("g2-standard-8", 1, "L4").accelerator is None  # bundled
    assert parse_instance_type("n1-standard-4", 1, "L4").accelerator == "nvidia-l4"
