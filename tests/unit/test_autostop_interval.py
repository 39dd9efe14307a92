"""autostop.check_interval_s: a config.yaml setting, validated, sent to the head's agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from styx.config import autostop_check_interval_s
from styx.errors import StyxError


def test_default_is_ten_seconds(styx_home: Path) -> None:
    assert autostop_check_interval_s() == 10.0


def test_config_value_is_used(styx_home: Path) -> None:
    (styx_home / "config.yaml").write_text("autostop:\n  check_interval_s: 0.5\n")
    assert autostop_check_interval_s() == 0.5


@pytest.mark.parametrize("value", ["0", "-1", "true", "'fast'", "7200"])
def test_bad_values_name_the_key(styx_home: Path, value: str) -> None:
    (styx_home / "config.yaml").write_text(f"autostop:\n  check_interval_s: {value}\n")
    with pytest.raises(StyxError, match=r"autostop\.check_interval_s: got .*expected seconds"):
        autostop_check_interval_s()
