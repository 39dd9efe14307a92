"""The SSH-pool walk (tests/ssh/pool_scenario.py, the same as in-process) through an API server
(SQLite by default; PostgreSQL too with STYX_FLOWS_BACKENDS=all, see flows_fixtures): the
workdir travels as an upload, the pool file and its claims live on the server; bob cannot see,
log or down alice's cluster; no token, no answer."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import ApiServer, run_styx, server_process
from tests.api.flows_fixtures import flow_backends, user_env
from tests.fakes.sshd.nodes import FakeCluster, start_cluster
from tests.ssh.conftest import _wipe
from tests.ssh.pool_scenario import PoolCli, two_node_walk

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("sshd") or os.path.exists("/usr/sbin/sshd")), reason="needs OpenSSH sshd"
    ),
]


@pytest.fixture(scope="module")
def pool_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeCluster]:
    cluster = start_cluster(tmp_path_factory.mktemp("flows-sshd"), 2)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module", params=flow_backends("sqlite"))
def pool_server(
    request: pytest.FixtureRequest,
    pool_nodes: FakeCluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ApiServer]:
    home = tmp_path_factory.mktemp(f"flows-ssh-{request.param}") / "server-home"
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with server_process(request.param, home, dict(os.environ), url) as server:
        pool_nodes.write_pools(home)  # the pool is the server's: clients name it only
        yield server


def test_pool_walk_through_the_server(
    pool_server: ApiServer, pool_nodes: FakeCluster, styx_home: Path, tmp_path: Path
) -> None:
    for node in pool_nodes.nodes:
        _wipe(node.home)
    alice = PoolCli(user_env(pool_server, styx_home, "alice"), state_home=pool_server.home)
    bob = user_env(pool_server, styx_home, "bob")

    def others_see_nothing(cluster: str) -> None:
        assert json.loads(run_styx(bob, "status", "--json").stdout) == []
        for args in (("logs", cluster, "1"), ("queue", cluster), ("down", "-y", cluster)):
            denied = run_styx(bob, *args)
            assert denied.returncode != 0, denied.stdout
            assert denied.stderr.count("\n") == 1  # one line, as if it did not exist
            assert denied.stderr.endswith(f": cluster '{cluster}' not found\n")
        anonymous = run_styx(user_env(pool_server, styx_home, None), "status")
        assert anonymous.returncode != 0 and "missing or invalid token" in anonymous.stderr
        mine = json.loads(alice("status", "--json").stdout)
        assert [(c["name"], c["owner"]) for c in mine] == [(cluster, "alice")]

    try:
        two_node_walk(alice, pool_nodes, tmp_path, while_up=others_see_nothing)
    finally:
        alice("down", "-y", "c1", check=False)
        for node in pool_nodes.nodes:
            _wipe(node.home)
    assert not (styx_home / "ssh").exists()  # nothing of the pool on the client
    assert list((pool_server.home / "server" / "uploads" / "alice").iterdir()) == []
