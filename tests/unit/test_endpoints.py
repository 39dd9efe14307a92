"""`styx status --endpoints`: which address each opened port answers at."""

from __future__ import annotations

from pathlib import Path

import pytest

from styx.core.endpoints import endpoints, opened_ports
from styx.errors import StyxError
from styx.providers.instance import Instance, InstanceId, InstanceState, ProviderType
from styx.state.store import ClusterRecord, ClusterStatus


def _record(ports: object, provider: str = "aws") -> ClusterRecord:
    return ClusterRecord(
        name="web",
        provider=provider,
        status=ClusterStatus.UP,
        num_nodes=2,
        task_yaml={"resources": {"ports": ports}} if ports is not None else {},
    )


def _node(rank: int, public: str | None, private: str) -> Instance:
    return Instance(
        id=InstanceId(f"i-{rank}"),
        provider=ProviderType.AWS,
        cluster_name="web",
        instance_type="m6i.large",
        state=InstanceState.RUNNING,
        public_ip=public,
        private_ip=private,
        node_rank=rank,
    )


NODES = [_node(1, "198.51.100.9", "10.0.0.9"), _node(0, "198.51.100.7", "10.0.0.7")]


def test_every_opened_port_at_the_heads_public_ip(styx_home: Path) -> None:
    urls = endpoints(_record([8080, "9000-9001"]), NODES)
    assert urls == {
        8080: "http://198.51.100.7:8080",
        9000: "http://198.51.100.7:9000",
        9001: "http://198.51.100.7:9001",
    }
    assert endpoints(_record(8080), NODES, 8080) == {8080: "http://198.51.100.7:8080"}


def test_use_internal_ips_gives_the_private_address(styx_home: Path) -> None:
    (styx_home / "config.yaml").write_text("aws:\n  use_internal_ips: true\n")
    assert endpoints(_record([8080]), NODES) == {8080: "http://10.0.0.7:8080"}


def test_a_node_without_public_ip_is_reached_privately(styx_home: Path) -> None:
    local = [_node(0, None, "127.0.0.1")]
    assert endpoints(_record([8888], "local"), local) == {8888: "http://127.0.0.1:8888"}


def test_no_ports_or_an_unopened_port_is_a_one_line_error(styx_home: Path) -> None:
    assert opened_ports(_record(None)) == ()
    with pytest.raises(StyxError, match=r"opens no ports; set resources\.ports"):
        endpoints(_record(None), NODES)
    with pytest.raises(StyxError, match="does not open port 22; it opens 8080"):
        endpoints(_record([8080]), NODES, 22)
