"""The end-to-end fixtures of tests/e2e (fake clouds, sshd nodes behind the proxy command)."""

from tests.e2e.conftest import _stop_ssh_masters, arm, gce, moto, nodes, sshd_nodes  # noqa: F401
