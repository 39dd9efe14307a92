"""AWS tests run against one moto server per session, reset before every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from styx.providers.base import ProvisionRequest
from tests.fakes.aws.moto_server import MotoServer, aws_env, start_moto

INSTANCE_TYPE = "m5.large"
IMAGE = "ami-785db401"  # an Ubuntu AMI moto ships; saves the default-image lookup per test


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    moto_server.reset()
    moto_server.require_auth(False)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    for key, value in aws_env(moto_server).items():
        monkeypatch.setenv(key, value)
    return moto_server


@pytest.fixture
def ec2(aws: MotoServer) -> Any:
    """A plain boto3 client: the independent witness of what the provider claims."""
    import boto3

    return boto3.client("ec2", region_name="us-east-1")


@pytest.fixture
def make_provider(aws: MotoServer) -> Callable[..., Any]:
    from styx.providers import get_provider

    def make(**config: Any) -> Any:
        # Tiny backoff so retry tests take milliseconds; no waiting on SG cleanup in moto.
        return get_provider("aws", **{"retry_base_delay_s": 0.001, "sg_cleanup_wait_s": 0.0,
                                      **config})  # fmt: skip

    return make


@pytest.fixture
def provider(make_provider: Callable[..., Any]) -> Any:
    return make_provider()


@pytest.fixture
def make_request() -> Callable[..., ProvisionRequest]:
    def make(cluster: str, **overrides: Any) -> ProvisionRequest:
        values: dict[str, Any] = {"instance_type": INSTANCE_TYPE, "image_id": IMAGE}
        values.update(overrides)
        return ProvisionRequest(cluster_name=cluster, **values)

    return make


def live_instances(ec2: Any, cluster: str | None = None) -> list[dict[str, Any]]:
    """What plain boto3 sees alive (optionally in one cluster)."""
    filters = [{"Name": "instance-state-name",
                "Values": ["pending", "running", "stopping", "stopped"]}]  # fmt: skip
    if cluster:
        filters.append({"Name": "tag:styx-cluster", "Values": [cluster]})
    pages = ec2.get_paginator("describe_instances").paginate(Filters=filters)
    return [i for p in pages for r in p["Reservations"] for i in r["Instances"]]
