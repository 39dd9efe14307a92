"""The pieces the cloud walks rely on, checked alone: the pool-assigning map proxy and how the
head is told to reach cloud workers (private IP, or through worker_ssh_proxy_command)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from styx.execution.ssh.access import (
    SSHAccessConfig,
    SSHCredentials,
    styx_key_credentials,
    worker_spec,
)
from styx.execution.ssh.target import SSHTarget
from styx.providers.instance import Instance, InstanceId, InstanceState, ProviderType
from tests.fakes.sshd.map_proxy import read_map, release

MAP_PROXY = Path(__file__).resolve().parent.parent / "fakes" / "sshd" / "map_proxy.py"


def _echo_server() -> tuple[socket.socket, int]:
    """A loopback server that answers each connection with its own port number."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.sendall(str(port).encode())
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, port


def _dial(map_file: Path, host: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MAP_PROXY), host, "22", str(map_file)],
        input="",
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_map_proxy_assigns_free_nodes_once_and_in_order(tmp_path: Path) -> None:
    servers = [_echo_server() for _ in range(3)]
    ports = [p for _, p in servers]
    map_file = tmp_path / "map.json"
    map_file.write_text(json.dumps({"__pool__": ports, "10.9.9.9": ports[2]}))
    try:
        # Four new hosts dial at once: two get the two free nodes, the rest are refused.
        hosts = ["54.1.1.1", "54.2.2.2", "54.3.3.3", "54.4.4.4"]
        results: dict[str, subprocess.CompletedProcess[str]] = {}
        threads = [
            threading.Thread(target=lambda h=h: results.__setitem__(h, _dial(map_file, h)))
            for h in hosts
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        mapping = read_map(map_file)
        winners = [h for h in hosts if results[h].returncode == 0]
        assert sorted(mapping[h] for h in winners) == sorted(ports[:2])
        for h in winners:
            assert results[h].stdout == str(mapping[h])  # reached the node it was given
        for h in set(hosts) - set(winners):
            assert results[h].returncode == 2 and "no mapping" in results[h].stderr
        # A host keeps its node; a pinned one goes where it was pinned.
        assert _dial(map_file, winners[0]).stdout == str(mapping[winners[0]])
        assert _dial(map_file, "10.9.9.9").stdout == str(ports[2])
        # Released hosts free their nodes, first in the order given.
        release(map_file, [winners[1], winners[0]])
        assert _dial(map_file, "34.5.5.5").stdout == str(mapping[winners[1]])
    finally:
        for srv, _ in servers:
            srv.close()


def _worker(provider: ProviderType) -> tuple[Instance, SSHTarget]:
    inst = Instance(
        InstanceId("w1"), provider, "c", "m5.large", InstanceState.RUNNING,
        public_ip="54.0.0.2", private_ip="172.31.0.2", node_rank=1, ssh_user="ubuntu",
    )  # fmt: skip
    target = SSHTarget(host="54.0.0.2", port=22, user="ubuntu", proxy_command="client-proxy %h")
    return inst, target


def _cloud(section: dict[str, Any]) -> SSHAccessConfig:
    return SSHAccessConfig.for_cloud(section, styx_key_credentials)


def test_cloud_workers_are_reached_on_their_private_ip_by_default() -> None:
    inst, target = _worker(ProviderType.AWS)
    spec = worker_spec(inst, target, _cloud({"ssh_proxy_command": "client-proxy %h"}))
    assert (spec.host, spec.port, spec.proxy_command) == ("172.31.0.2", 22, None)
    assert spec.ip == "172.31.0.2"


def test_worker_ssh_proxy_command_routes_the_head_like_the_client() -> None:
    inst, target = _worker(ProviderType.GCP)
    cfg = {"ssh_proxy_command": "client-proxy %h", "worker_ssh_proxy_command": "head-proxy %h"}
    spec = worker_spec(inst, target, _cloud(cfg))
    assert (spec.host, spec.port, spec.proxy_command) == ("54.0.0.2", 22, "head-proxy %h")
    assert spec.ip == "172.31.0.2"  # STYX_NODE_IPS still lists private IPs


def test_pool_workers_are_reached_as_configured_through_the_pool_proxy() -> None:
    inst, target = _worker(ProviderType.SSH)
    pool = SSHAccessConfig.for_pool(
        {"ssh_proxy_command": "pool-proxy %h"}, lambda _i: SSHCredentials(None, "pw")
    )
    spec = worker_spec(inst, target, pool)
    assert (spec.host, spec.port, spec.proxy_command) == ("54.0.0.2", 22, "pool-proxy %h")
    assert pool.head_node_map and not _cloud({}).head_node_map
