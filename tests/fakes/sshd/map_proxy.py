"""A ProxyCommand for tests: ``map_proxy.py HOST PORT [MAP_FILE]`` connects to the loopback port
mapped for HOST (from the JSON file in $STYX_PROXY_MAP, the third argument, or next to this script)
and pipes stdin/stdout.

The map file is ``{host: port, ...}``. It may also hold ``"__pool__": [port, ...]``: a host seen
for the first time is then given the first pool port no host holds yet, and the choice is written
back to the file under an exclusive lock (several proxies start at once), so the same host always
reaches the same node. That is how tests reach cloud instances whose (fake, public-looking) IPs
are only known after provisioning.

Fake hostnames/IPs are never resolved or dialled: only 127.0.0.1 is ever connected to.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
from pathlib import Path

POOL_KEY = "__pool__"


def _lookup(map_file: Path, host: str) -> int | None:
    """The port for ``host``, assigning a free pool port on first sight (under a file lock)."""
    lock_path = map_file.with_name(map_file.name + ".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        mapping = json.loads(map_file.read_text())
        if host in mapping and host != POOL_KEY:
            return int(mapping[host])
        pool = [int(p) for p in mapping.get(POOL_KEY, [])]
        taken = {int(v) for k, v in mapping.items() if k != POOL_KEY}
        free = [p for p in pool if p not in taken]
        if not free:
            return None
        mapping[host] = free[0]
        tmp = map_file.with_name(map_file.name + ".tmp")
        tmp.write_text(json.dumps(mapping, indent=1, sort_keys=True))
        os.replace(tmp, map_file)
        return free[0]


def assign(map_file: Path, host: str, port: int) -> None:
    """Map ``host`` to ``port`` (e.g. a restarted VM's new address to its old node)."""
    lock_path = map_file.with_name(map_file.name + ".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        mapping = json.loads(map_file.read_text())
        mapping[host] = port
        tmp = map_file.with_name(map_file.name + ".tmp")
        tmp.write_text(json.dumps(mapping, indent=1, sort_keys=True))
        os.replace(tmp, map_file)


def release(map_file: Path, hosts: list[str]) -> None:
    """Forget the hosts' assignments and put their nodes first in the pool, in that order.

    A stopped VM gives up its public IP; the addresses the VMs get on start are then handed
    these nodes in order of first sight, so each leads back to its VM's node when the caller
    knows which VM is reached first.
    """
    lock_path = map_file.with_name(map_file.name + ".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        mapping = json.loads(map_file.read_text())
        freed = [int(mapping.pop(h)) for h in hosts if h in mapping]
        rest = [int(p) for p in mapping.get(POOL_KEY, []) if int(p) not in freed]
        mapping[POOL_KEY] = freed + rest
        tmp = map_file.with_name(map_file.name + ".tmp")
        tmp.write_text(json.dumps(mapping, indent=1, sort_keys=True))
        os.replace(tmp, map_file)


def read_map(map_file: Path) -> dict[str, int]:
    """The host -> port assignments made so far (the pool left out)."""
    mapping = json.loads(map_file.read_text())
    return {k: int(v) for k, v in mapping.items() if k != POOL_KEY}


def main() -> int:
    host, _port = sys.argv[1], sys.argv[2]
    map_file = os.environ.get("STYX_PROXY_MAP") or str(Path(__file__).with_name("proxy_map.json"))
    if len(sys.argv) > 3:
        map_file = sys.argv[3]
    target = _lookup(Path(map_file), host)
    if target is None:
        sys.stderr.write(f"map_proxy: no mapping for {host}\n")
        return 2
    sock = socket.create_connection(("127.0.0.1", int(target)))

    def upstream() -> None:
        while True:
            data = os.read(0, 65536)
            if not data:
                sock.shutdown(socket.SHUT_WR)
                return
            sock.sendall(data)

    threading.Thread(target=upstream, daemon=True).start()
    while True:
        data = sock.recv(65536)
        if not data:
            return 0
        os.write(1, data)


if __name__ == "__main__":
    sys.exit(main())
