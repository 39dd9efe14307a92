"""Nodes reached over SSH (cloud VMs, SSH pool hosts): the one implementation of ClusterAccess
that providers configure (credentials, proxy command, jump host) with an :class:`SSHAccessConfig`.

Design:

* The client holds one asyncssh connection per node (``SSHCommandRunner``), through the
  provider's ``ssh_proxy_command`` / ``ssh_jump_host`` when set, with host keys pinned per
  instance in the state store (trust on first use).
* The head's agent runs the head's own rank locally (``NodeKind.LOCAL`` with home ``~``): no SSH
  hop to itself. Workers are ``NodeKind.SSH`` specs the head's OpenSSH client uses: the worker's
  private IP (clouds; or, with ``worker_ssh_proxy_command``, the client's address through that
  command) or configured host/port (pools), a copy of the client's key under ``~/.styx/keys``, and
  a Styx-only known_hosts file seeded with the keys the client pinned (``HostKeyAlias`` =
  ``styx-<instance id>``; keys not pinned yet are accepted on first use there too).
* Once a node's key is pinned, the client also starts an OpenSSH ControlMaster for it
  (``master.py``, ``ssh_control_persist`` in config.yaml, default 10m), so a later ``exec``
  reaches the head through it with a plain ``ssh``: no asyncssh import, no handshake.
* :meth:`SSHClusterAccess.agent_python` installs this client's own Styx wheel in
  ``~/.styx/runtime/venv`` on the head the first time (and whenever the code differs), writing
  the small files above in the same round trip.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from styx.agent.nodes import NodeKind, NodeSpec
from styx.errors import ClusterError
from styx.execution.ssh.master import DEFAULT_PERSIST
from styx.execution.ssh.runner import SSHCommandRunner
from styx.execution.ssh.target import DEFAULT_CONNECT_TIMEOUT_S, SSHTarget, StoreHostKeys
from styx.providers.access import ClusterAccess, NodeAccess, node_label
from styx.providers.instance import Instance

if TYPE_CHECKING:
    from styx.runtime.install import HeadFiles

HEAD_KEYS_DIR = "~/.styx/keys"
HEAD_KNOWN_HOSTS = "~/.styx/known_hosts"
HEAD_CONTROL_DIR = "~/.styx/cm"  # OpenSSH ControlMaster sockets on the head
NODE_MAP = "~/.styx/node_map.json"  # read by the SSH pool provider on the head (autostop down)


@dataclass(frozen=True)
class SSHCredentials:
    key_path: str | None
    password: str | None = None


@dataclass(frozen=True)
class SSHAccessConfig:
    """How one provider's nodes are reached over SSH (read from its config.yaml section)."""

    credentials: Callable[[Instance], SSHCredentials]
    proxy_command: str | None = None  # the client's, with %h/%p tokens
    jump_host: str | None = None
    use_internal_ips: bool = False  # the client dials private IPs (it runs inside the VPC)
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    control_persist: str = DEFAULT_PERSIST  # the client's OpenSSH master per node; "no": none
    # True: the head dials each worker at the address the client uses, through
    # ``worker_proxy_command``; False: at the worker's private IP, port 22 (inside the VPC).
    workers_as_client: bool = False
    worker_proxy_command: str | None = None
    # Write ~/.styx/node_map.json on the head (the SSH pool provider releases hosts from there).
    head_node_map: bool = False

    @classmethod
    def for_cloud(
        cls, section: dict[str, Any], credentials: Callable[[Instance], SSHCredentials]
    ) -> SSHAccessConfig:
        """Cloud VMs. Where nodes cannot reach each other directly,
        ``<cloud>.worker_ssh_proxy_command`` makes the head dial each worker at the client's
        address for it, through that command (run on the head)."""
        worker_proxy = section.get("worker_ssh_proxy_command")
        return cls(
            credentials=credentials,
            workers_as_client=bool(worker_proxy),
            worker_proxy_command=worker_proxy,
            **_common(section),
        )

    @classmethod
    def for_pool(
        cls, section: dict[str, Any], credentials: Callable[[Instance], SSHCredentials]
    ) -> SSHAccessConfig:
        """SSH pool hosts: the head reaches workers as configured, through the same proxy."""
        return cls(
            credentials=credentials,
            workers_as_client=True,
            worker_proxy_command=section.get("ssh_proxy_command"),
            head_node_map=True,
            **_common(section),
        )


def _common(section: dict[str, Any]) -> dict[str, Any]:
    return {
        "proxy_command": section.get("ssh_proxy_command"),
        "jump_host": section.get("ssh_jump_host"),
        "use_internal_ips": bool(section.get("use_internal_ips")),
        "connect_timeout_s": float(section.get("ssh_connect_timeout", DEFAULT_CONNECT_TIMEOUT_S)),
        "control_persist": str(section.get("ssh_control_persist", DEFAULT_PERSIST)),
    }


def styx_key_credentials(_inst: Instance) -> SSHCredentials:
    """The key Styx places on every cloud VM it creates (instance metadata, key pair)."""
    from styx.keys import ensure_ssh_key

    return SSHCredentials(str(ensure_ssh_key()[0]))


def client_target(cluster_name: str, inst: Instance, config: SSHAccessConfig) -> SSHTarget:
    creds = config.credentials(inst)
    host = (inst.private_ip or inst.public_ip) if config.use_internal_ips else inst.ip
    if not host:
        raise ClusterError(
            f"cluster '{cluster_name}': node {inst.id} has no IP address yet", cluster=cluster_name
        )
    return SSHTarget(
        host=host,
        port=inst.ssh_port or 22,
        user=inst.ssh_user,
        key_path=creds.key_path,
        password=creds.password,
        proxy_command=config.proxy_command,
        jump_host=config.jump_host,
        instance_id=inst.id,
        connect_timeout_s=config.connect_timeout_s,
        label=node_label(inst.node_rank),
        control_persist=config.control_persist,
    )


def head_key_path(key: str | None) -> str | None:
    """Where the head keeps its copy of the client's key (named by content, never clashing)."""
    if not key:
        return None
    digest = hashlib.sha256(Path(key).read_bytes()).hexdigest()[:12]
    return f"{HEAD_KEYS_DIR}/{digest}"


def worker_spec(inst: Instance, target: SSHTarget, config: SSHAccessConfig) -> NodeSpec:
    """How the head's OpenSSH client reaches a worker."""
    direct = config.workers_as_client
    return NodeSpec(
        rank=inst.node_rank,
        ip=inst.private_ip or target.host,
        kind=NodeKind.SSH,
        host=target.host if direct else (inst.private_ip or target.host),
        port=target.port if direct else 22,
        user=target.user,
        key_path=head_key_path(target.key_path),
        proxy_command=config.worker_proxy_command if direct else None,
        instance_id=inst.id,
        extra_ssh_options=(
            "-F",
            "/dev/null",
            "-o",
            f"UserKnownHostsFile={HEAD_KNOWN_HOSTS}",
            "-o",
            f"HostKeyAlias=styx-{inst.id}",
            "-o",
            "LogLevel=ERROR",  # no "Permanently added" lines in the job's output
            # One master connection per worker, reused by every job's launch and kill.
            "-o",
            "ControlMaster=auto",
            "-o",
            f"ControlPath={HEAD_CONTROL_DIR}/%r@%h:%p",
            "-o",
            "ControlPersist=120",
        ),
    )


class SSHClusterAccess(ClusterAccess):
    def __init__(
        self, cluster_name: str, instances: list[Instance], config: SSHAccessConfig
    ) -> None:
        self.config = config
        self.host_keys = StoreHostKeys()
        nodes = []
        for inst in sorted(instances, key=lambda i: i.node_rank):
            target = client_target(cluster_name, inst, config)
            if inst.node_rank == 0:
                # The head runs its own rank itself, in its own home.
                spec = NodeSpec(
                    rank=0,
                    ip=inst.private_ip or target.host,
                    kind=NodeKind.LOCAL,
                    home="~",
                    instance_id=inst.id,
                )
            else:
                spec = worker_spec(inst, target, config)
            nodes.append(NodeAccess(inst, SSHCommandRunner(target, self.host_keys), spec))
        super().__init__(cluster_name, nodes)

    def head_files(self) -> HeadFiles:
        """The head's copies of the keys, its known_hosts for the workers, the node map."""
        from styx.runtime.install import HeadFiles

        files = HeadFiles()
        lines = []
        node_map = {}
        for node in self.nodes:
            runner = node.runner
            if isinstance(runner, SSHCommandRunner) and runner.target.key_path:
                head_path = head_key_path(runner.target.key_path)
                if head_path and head_path not in files.files:
                    files.add(head_path, Path(runner.target.key_path).read_text().strip())
            pinned = self.host_keys.get(node.instance.id)
            if pinned:
                lines.append(f"styx-{node.instance.id} {pinned}")
            node_map[node.instance.id] = node.spec.to_dict()
        if lines:
            files.add(HEAD_KNOWN_HOSTS, "\n".join(lines), 0o644)
        files.folders.append(HEAD_CONTROL_DIR)
        if self.config.head_node_map:
            files.add(NODE_MAP, json.dumps({"cluster": self.cluster_name, "nodes": node_map}))
        return files

    async def agent_python(self, force: bool = False) -> str:
        """Install (if needed) the client's Styx on the head; the venv Python, shell-quoted."""
        from styx.runtime.install import ensure_runtime_remembered

        # Pin every worker's host key on the client first, so the head's known_hosts carries it.
        unpinned = [n.runner for n in self.nodes[1:] if not self.host_keys.get(n.instance.id)]
        await asyncio.gather(*(r.connection() for r in unpinned if isinstance(r, SSHCommandRunner)))
        return await ensure_runtime_remembered(
            self.head.runner, self.head.instance.id, self.head_files(), force or bool(unpinned)
        )


async def vm_cluster_access(
    provider_name: str, cluster_name: str, instances: list[Instance]
) -> ClusterAccess:
    """Cloud VMs: the Styx key, the address and user on the instance, the proxy command and
    jump host from the provider's section of config.yaml. Needs no cloud SDK."""
    from styx.config import provider_config

    config = SSHAccessConfig.for_cloud(provider_config(provider_name), styx_key_credentials)
    return SSHClusterAccess(cluster_name, instances, config)
