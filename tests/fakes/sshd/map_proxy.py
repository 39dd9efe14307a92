"""A ProxyCommand for tests: ``map_proxy.py HOST PORT`` connects to a loopback port mapped for
HOST (from the JSON file in $STYX_PROXY_MAP or next to this script) and pipes stdin/stdout.

Fake hostnames/IPs never get resolved or dialled: only 127.0.0.1 is ever connected to.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from pathlib import Path


def main() -> int:
    host, _port = sys.argv[1], sys.argv[2]
    map_file = os.environ.get("STYX_PROXY_MAP") or str(Path(__file__).with_name("proxy_map.json"))
    if len(sys.argv) > 3:
        map_file = sys.argv[3]
    mapping = json.loads(Path(map_file).read_text())
    target = mapping.get(host)
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
