"""The typed optional abilities: declared as data and as types, and the two agree."""

from __future__ import annotations

import pytest

from styx.providers.abilities import InstanceFamilies, QuotaInfo, QuotaLookup, StopStart
from styx.providers.registry import PROVIDERS, provider_class


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_capabilities_agree_with_the_abilities(name: str) -> None:
    cls = provider_class(name)
    assert isinstance(cls, type)
    assert cls.capabilities.stop_start == issubclass(cls, StopStart), name


@pytest.mark.parametrize("name", ["aws", "gcp", "azure"])
def test_every_cloud_with_quotas_can_tell_them_before_launching(name: str) -> None:
    cls = provider_class(name)
    assert issubclass(cls, QuotaLookup) and issubclass(cls, InstanceFamilies)


@pytest.mark.parametrize(
    ("name", "instance_type", "family"),
    [
        ("aws", "p4d.24xlarge", "p4d"),
        ("gcp", "n2-standard-8", "n2"),
        ("gcp", "a2-highgpu-8g", "a2"),
        ("azure", "Standard_NC24ads_A100_v4", "NC"),
        ("azure", "Standard_D2s_v3", "D"),
    ],
)
def test_instance_families_follow_each_clouds_naming(
    name: str, instance_type: str, family: str
) -> None:
    cls = provider_class(name)
    # The naming rule needs no account: call it on an instance made without __init__.
    provider = cls.__new__(cls)  # type: ignore[call-overload]
    assert provider.instance_family(instance_type) == family


def test_quota_info_fits_counts_instances_in_the_quotas_units() -> None:
    gpus = QuotaInfo("us-central1", "a2-highgpu-8g", "NVIDIA_A100_GPUS", 16, 8, 8)
    assert (gpus.free, gpus.fits(1), gpus.fits(2)) == (8, True, False)
    assert "NVIDIA_A100_GPUS leaves 8 free" in gpus.describe(2)
    unknown = QuotaInfo("eastus", "Standard_X", None, None, None, 4, reason="not reported")
    assert unknown.known is False and unknown.fits(100) is None
    over = QuotaInfo("us-east-1", "m5.large", "L-1216C47A", 4, 6, 2)  # usage above the limit
    assert over.free == 0 and over.fits(1) is False
