"""Fixtures: real OpenSSH sshd nodes on 127.0.0.1 and a pool file pointing at them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.sshd.nodes import FakeCluster, start_cluster

pytestmark = pytest.mark.skipif(
    not (shutil.which("sshd") or os.path.exists("/usr/sbin/sshd")), reason="needs OpenSSH sshd"
)


@pytest.fixture(scope="session")
def sshd_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeCluster]:
    """Three sshd nodes shared by the session (each test gets a fresh STYX_HOME)."""
    cluster = start_cluster(tmp_path_factory.mktemp("sshd"), 3)
    yield cluster
    cluster.stop()


@pytest.fixture
def clean_nodes(sshd_nodes: FakeCluster) -> Iterator[FakeCluster]:
    """The nodes with empty homes before and after the test."""
    for node in sshd_nodes.nodes:
        _wipe(node.home)
    yield sshd_nodes
    for node in sshd_nodes.nodes:
        _wipe(node.home)


def _wipe(home: Path) -> None:
    import subprocess

    from styx.providers.ssh.hostops import CLEANUP

    subprocess.run(
        ["bash", "--noprofile", "--norc", "-s"],
        input=CLEANUP.encode(),
        env={**os.environ, "HOME": str(home)},
        cwd=home,
        check=False,
    )
    for child in home.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink()


@pytest.fixture
def pool(clean_nodes: FakeCluster, styx_home: Path) -> FakeCluster:
    clean_nodes.write_pools(styx_home)
    return clean_nodes


@pytest.fixture(autouse=True)
def _stop_ssh_masters(styx_home: Path) -> Iterator[None]:
    """Client-side OpenSSH masters a test started (runner or CLI) end with the test."""
    yield
    from styx.execution.ssh.master import stop_masters

    stop_masters()
