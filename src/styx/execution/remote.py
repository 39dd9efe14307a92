"""Clusters whose nodes are reached over SSH (clouds, SSH pools): runners and the head's runtime.

Design:

* The client holds one asyncssh connection per node (``SSHCommandRunner``), through the
  provider's ``ssh_proxy_command`` / ``ssh_jump_host`` from the Styx config file when set, with
  host keys pinned per instance in the state store (trust on first use).
* The head's agent runs the head's own rank locally (``kind: local`` with home ``~``): no SSH hop
  to itself. Workers are ``kind: ssh`` specs the head's OpenSSH client uses: the worker's private
  IP (clouds; or, with ``worker_ssh_proxy_command``, the client's address through that command)
  or configured host/port (pools), a copy of the client's key under ``~/.styx/keys``,
  and a Styx-only known_hosts file seeded with the keys the client pinned (``HostKeyAlias`` =
  ``styx-<instance id>``; keys not pinned yet are accepted on first use there too).
* Once a node's key is pinned, the client also starts an OpenSSH ControlMaster for it
  (``ssh/master.py``, ``ssh_control_persist`` in config.yaml, default 10m), so a later ``exec``
  reaches the head through it with a plain ``ssh``: no asyncssh import, no handshake.
* ``remote_agent_python`` installs this client's own Styx wheel in ``~/.styx/runtime/venv`` on the
  head the first time (and whenever the code differs), writing the small files above in the same
  round trip.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

from styx.config import provider_config
from styx.execution.backend import NodeAccess
from styx.execution.runner import CommandRunner
from styx.execution.ssh.master import DEFAULT_PERSIST
from styx.execution.ssh.runner import SSHCommandRunner
from styx.execution.ssh.target import DEFAULT_CONNECT_TIMEOUT_S, SSHTarget, StoreHostKeys
from styx.providers.instance import Instance
from styx.state.store import ClusterRecord

HEAD_KEYS_DIR = "~/.styx/keys"
HEAD_KNOWN_HOSTS = "~/.styx/known_hosts"
HEAD_CONTROL_DIR = "~/.styx/cm"  # OpenSSH ControlMaster sockets on the head
NODE_MAP = "~/.styx/node_map.json"  # read by the SSH pool provider on the head (autostop down)

_NODES: dict[str, list[NodeAccess]] = {}


def _label(rank: int) -> str:
    return "head" if rank == 0 else f"worker{rank}"


def _credentials(record: ClusterRecord, inst: Instance) -> tuple[str | None, str | None]:
    """(private key path, password) for the node."""
    if record.provider == "ssh":
        from styx.providers.ssh.provider import SSHProvider

        return SSHProvider().credentials(inst)
    from styx.keys import ensure_ssh_key

    return str(ensure_ssh_key()[0]), None


def client_target(record: ClusterRecord, inst: Instance, cfg: dict[str, Any]) -> SSHTarget:
    key, password = _credentials(record, inst)
    host = (inst.private_ip or inst.public_ip) if cfg.get("use_internal_ips") else inst.ip
    if not host:
        from styx.errors import ClusterError

        raise ClusterError(
            f"cluster '{record.name}': node {inst.id} has no IP address yet", cluster=record.name
        )
    return SSHTarget(
        host=host,
        port=inst.ssh_port or 22,
        user=inst.ssh_user,
        key_path=key,
        password=password,
        proxy_command=cfg.get("ssh_proxy_command"),
        jump_host=cfg.get("ssh_jump_host"),
        instance_id=inst.id,
        connect_timeout_s=float(cfg.get("ssh_connect_timeout", DEFAULT_CONNECT_TIMEOUT_S)),
        label=_label(inst.node_rank),
        # The client's OpenSSH master per node (ssh/master.py); "no" turns it off.
        control_persist=str(cfg.get("ssh_control_persist", DEFAULT_PERSIST)),
    )


def _head_key_path(key: str | None) -> str | None:
    if not key:
        return None
    digest = hashlib.sha256(Path(key).read_bytes()).hexdigest()[:12]
    return f"{HEAD_KEYS_DIR}/{digest}"


def worker_spec(
    record: ClusterRecord, inst: Instance, target: SSHTarget, cfg: dict[str, Any]
) -> dict[str, Any]:
    """How the head's OpenSSH client reaches a worker (nodes.py ``kind: ssh``).

    Cloud workers are reached inside the VPC, on their private IP. Where nodes cannot reach each
    other directly, ``<cloud>.worker_ssh_proxy_command`` (config.yaml) makes the head dial each
    worker at the client's address for it, through that command (run on the head).
    """
    pool = record.provider == "ssh"
    worker_proxy = None if pool else cfg.get("worker_ssh_proxy_command")
    direct = pool or bool(worker_proxy)
    return {
        "rank": inst.node_rank,
        "ip": inst.private_ip or target.host,
        "kind": "ssh",
        # Pool hosts as configured (maybe via proxy); cloud workers inside the VPC.
        "host": target.host if direct else (inst.private_ip or target.host),
        "port": target.port if direct else 22,
        "user": target.user,
        "key_path": _head_key_path(target.key_path),
        "proxy_command": cfg.get("ssh_proxy_command") if pool else worker_proxy,
        "instance_id": inst.id,
        "extra_ssh_options": [
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
        ],
    }


async def remote_node_access(record: ClusterRecord, instances: list[Instance]) -> list[NodeAccess]:
    cfg = provider_config(record.provider)
    host_keys = StoreHostKeys()
    out = []
    for inst in sorted(instances, key=lambda i: i.node_rank):
        target = client_target(record, inst, cfg)
        runner = SSHCommandRunner(target, host_keys)
        if inst.node_rank == 0:
            spec: dict[str, Any] = {
                "rank": 0,
                "ip": inst.private_ip or target.host,
                "kind": "local",  # the head runs its own rank itself
                "home": "~",
                "instance_id": inst.id,
            }
        else:
            spec = worker_spec(record, inst, target, cfg)
        out.append(NodeAccess(inst, runner, spec))
    _NODES[record.name] = out
    return out


def head_files(record: ClusterRecord, nodes: list[NodeAccess], keys: StoreHostKeys) -> Any:
    from styx.runtime.install import HeadFiles

    files = HeadFiles()
    lines = []
    node_map = {}
    for node in nodes:
        runner = node.runner
        if isinstance(runner, SSHCommandRunner) and runner.target.key_path:
            head_path = _head_key_path(runner.target.key_path)
            if head_path and head_path not in files.files:
                files.add(head_path, Path(runner.target.key_path).read_text().strip())
        pinned = keys.get(node.instance.id)
        if pinned:
            lines.append(f"styx-{node.instance.id} {pinned}")
        node_map[node.instance.id] = node.agent_spec
    if lines:
        files.add(HEAD_KNOWN_HOSTS, "\n".join(lines), 0o644)
    files.folders.append(HEAD_CONTROL_DIR)
    if record.provider == "ssh":
        files.add(NODE_MAP, json.dumps({"cluster": record.name, "nodes": node_map}))
    return files


async def remote_agent_python(
    record: ClusterRecord, head_runner: CommandRunner, force: bool = False
) -> str:
    """Install (if needed) the client's Styx on the head; the venv Python, shell-quoted."""
    from styx.runtime.install import HeadFiles, ensure_runtime_remembered

    nodes = _NODES.get(record.name, [])
    # Pin every worker's host key on the client first, so the head's known_hosts carries it.
    keys = StoreHostKeys()
    unpinned = [n.runner for n in nodes[1:] if not keys.get(n.instance.id)]
    await asyncio.gather(*(r.connection() for r in unpinned if isinstance(r, SSHCommandRunner)))
    files = head_files(record, nodes, keys) if nodes else HeadFiles()
    head_id = nodes[0].instance.id if nodes else None
    return await ensure_runtime_remembered(head_runner, head_id, files, force or bool(unpinned))
