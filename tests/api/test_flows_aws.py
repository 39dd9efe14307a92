"""The AWS walk on moto (tests/e2e/scenario.py, the same assertions as in-process) through an
API server (PostgreSQL by default; SQLite too with STYX_FLOWS_BACKENDS=all): EC2 instances
reached through the proxy-command harness, checked with plain boto3; the server holds the
cloud's endpoint and keys, the client none. The stop/start leg stays in the in-process test
(time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import ApiServer, run_styx, server_process
from tests.api.flows_fixtures import (
    flow_backends,
    server_public_key,
    stop_server_masters,
    user_env,
)
from tests.e2e.clouds import AWS_IMAGE, aws_live, aws_section
from tests.e2e.conftest import (  # noqa: F401 - fixtures used here
    Cli,
    Nodes,
    base_env,
    cloud_section,
    moto,
    nodes,
    sshd_nodes,
    write_config,
)
from tests.e2e.scenario import CloudHooks, walk
from tests.fakes.aws.moto_server import MotoServer, aws_env
from tests.fakes.sshd.nodes import FakeCluster, authorize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=flow_backends("postgres"))
def aws_server(
    request: pytest.FixtureRequest,
    moto: MotoServer,  # noqa: F811
    sshd_nodes: FakeCluster,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ApiServer]:
    root = tmp_path_factory.mktemp(f"flows-aws-{request.param}")
    home = root / "server-home"
    env = {**base_env(home, root), **aws_env(moto)}  # what the in-process test gives the CLI
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with server_process(request.param, home, env, url) as server:
        authorize(sshd_nodes, server_public_key(server.env))  # the key the cloud installs
        try:
            yield server
        finally:
            stop_server_masters(server)


def test_aws_walk_through_the_server(
    aws_server: ApiServer,
    moto: MotoServer,  # noqa: F811
    nodes: Nodes,  # noqa: F811
    styx_home: Path,
) -> None:
    moto.reset()
    # The proxy map is this test's: the server's config names it (read at each request).
    write_config(aws_server.home, {"aws": cloud_section(nodes, **aws_section())})
    alice = Cli(
        aws_server.home,
        user_env(aws_server, styx_home, "alice"),
        db_url=aws_server.env.get("STYX_DB_URL"),
    )
    bob = user_env(aws_server, styx_home, "bob")

    def others_see_nothing(cluster: str) -> None:
        assert json.loads(run_styx(bob, "status", "--json").stdout) == []
        for args in (("logs", cluster, "1"), ("down", "-y", cluster)):
            denied = run_styx(bob, *args)
            assert denied.returncode != 0 and denied.stderr.count("\n") == 1
            assert denied.stderr.endswith(f": cluster '{cluster}' not found\n")
        anonymous = run_styx(user_env(aws_server, styx_home, None), "down", "-y", cluster)
        assert anonymous.returncode != 0 and "missing or invalid token" in anonymous.stderr

    hooks = CloudHooks(live_count=lambda c, region: aws_live(moto, c, (region, "us-east-1")))
    try:
        walk(
            alice, nodes, "aws", hooks, ["--image-id", AWS_IMAGE, "--cpus", "2"],
            stop_start=False, while_up=others_see_nothing,
        )  # fmt: skip
    finally:
        alice("down", "-y", "e2e-aws", check=False)
