"""``$STYX_HOME/ssh_node_pools.yaml`` (SkyPilot's layout)::

mypool:
  user: ubuntu
  identity_file: ~/.ssh/id_ed25519
  password: optional
  hosts:
    - 10.0.0.5
    - {ip: 10.0.0.6, port: 2222, user: admin, identity_file: ..., password: ...}
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from styx.errors import InvalidRequestError

POOLS_FILE = "ssh_node_pools.yaml"


@dataclass(frozen=True)
class PoolHost:
    pool: str
    ip: str
    port: int = 22
    user: str | None = None
    identity_file: str | None = None
    password: str | None = None

    @property
    def host_id(self) -> str:
        """Stable name of the host (the instance's native id)."""
        return f"{self.pool}/{self.user or ''}@{self.ip}:{self.port}"


def pools_path(home: Path) -> Path:
    return home / POOLS_FILE


def _error(path: Path, message: str) -> InvalidRequestError:
    return InvalidRequestError(f"{path}: {message}", provider="ssh", native_code="BadPoolFile")


def parse_pools(data: Any, path: Path) -> dict[str, list[PoolHost]]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _error(path, "expected a mapping of pool name -> {user, identity_file, hosts}")
    pools: dict[str, list[PoolHost]] = {}
    for name, section in data.items():
        if not isinstance(section, dict) or not isinstance(section.get("hosts"), list):
            raise _error(path, f"pool '{name}' needs a 'hosts' list")
        hosts = []
        for i, entry in enumerate(section["hosts"]):
            item = {"ip": entry} if isinstance(entry, str) else entry
            if not isinstance(item, dict) or not item.get("ip"):
                raise _error(path, f"pool '{name}' host #{i + 1}: expected an IP or {{ip: ...}}")
            key = item.get("identity_file", section.get("identity_file"))
            hosts.append(
                PoolHost(
                    pool=str(name),
                    ip=str(item["ip"]),
                    port=int(item.get("port", section.get("port", 22))),
                    user=item.get("user", section.get("user")),
                    identity_file=os.path.expanduser(str(key)) if key else None,
                    password=item.get("password", section.get("password")),
                )
            )
        pools[str(name)] = hosts
    return pools


def load_pools(home: Path) -> dict[str, list[PoolHost]]:
    path = pools_path(home)
    if not path.exists():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _error(path, f"invalid YAML ({exc})") from exc
    return parse_pools(data, path)
