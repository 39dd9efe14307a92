"""The e2e suite's fake clouds and sshd nodes, for managed jobs on clouds."""

from tests.e2e.conftest import (  # noqa: F401 - fixtures, found by pytest through this module
    _stop_ssh_masters,
    arm,
    gce,
    moto,
    nodes,
    sshd_nodes,
)
from tests.kubernetes.conftest import fake_k8s  # noqa: F401
