"""The end-to-end fixtures of tests/e2e (fake clouds, sshd nodes behind the proxy command), and
the wheelhouse of cloud SDKs that the fake clusters' heads install from."""

from pathlib import Path

import pytest

from tests.e2e.conftest import _stop_ssh_masters, arm, gce, moto, nodes, sshd_nodes  # noqa: F401

WHEELHOUSE = Path(__file__).resolve().parents[2] / ".cache" / "head-wheels"


def require_head_wheels() -> Path:
    """The wheelhouse scripts/test.sh fills (a head installs its provider's SDK to stop its own
    cluster, and no index is reachable in the tests); skip when run without the script."""
    if not (WHEELHOUSE / ".complete").exists():
        pytest.skip("run through scripts/test.sh, which downloads the head's SDK wheels")
    return WHEELHOUSE
