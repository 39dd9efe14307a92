"""API server: start to first answer, idle RSS, and `status` latency with concurrent clients,
on SQLite and on PostgreSQL (a throwaway Debian PostgreSQL, as in tests/api).

    PYTHONPATH=src:. .venv/bin/python bench/api_bench.py [--clients 50] [--calls 10]

A `status` call is what the CLI does: submit the request, then stream it until it has finished
(two HTTP requests and the database rows of one request).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from tests.api.postgres import free_port, postgres_server

from styx.client.remote import RemoteClient
from styx.client.settings import ApiSettings
from styx.core.printer import Printer

REPO = Path(__file__).resolve().parent.parent


def rss_kib(pid: int) -> int:
    """RSS of ``pid`` and its descendants, KiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo += [int(c) for c in children]
    return total


def styx(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        env=env, check=True, capture_output=True, text=True, cwd=REPO,
    ).stdout  # fmt: skip


def measure(backend: str, db_url: str | None, clients: int, calls: int) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="styx-api-bench-"))
    env = {**os.environ, "STYX_HOME": str(home)}
    if db_url:
        env["STYX_DB_URL"] = db_url
    styx(env, "api", "users", "add", "bench")
    token = json.loads(styx(env, "api", "tokens", "create", "--json"))["token"]
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "styx.server", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip
    try:
        while True:
            try:
                with urllib.request.urlopen(endpoint + "/api/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.01)
        first_answer = time.perf_counter() - started
        time.sleep(1.0)
        idle_rss = rss_kib(server.pid) / 1024
        client = RemoteClient(ApiSettings(endpoint, token))

        def one_client(_i: int) -> list[float]:
            out = []
            for _ in range(calls):
                t0 = time.perf_counter()
                client.run("status", {}, Printer.silent())
                out.append(time.perf_counter() - t0)
            return out

        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            latencies = sorted(x for xs in pool.map(one_client, range(clients)) for x in xs)
        wall = time.perf_counter() - t0
        return {
            "start_s": first_answer,
            "idle_rss_mib": idle_rss,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "per_s": len(latencies) / wall,
        }
    finally:
        server.terminate()
        server.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--calls", type=int, default=10, help="status calls per client")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    a = parser.parse_args()
    print(f"{'backend':<9} {'start':>8} {'idle RSS':>9} {'p50':>9} {'p99':>9} {'status/s':>9}")
    with ExitStack() as stack:
        for backend in ("sqlite", "postgres"):
            if a.backend not in (backend, "both"):
                continue
            url = stack.enter_context(postgres_server()) if backend == "postgres" else None
            r = measure(backend, url, a.clients, a.calls)
            print(
                f"{backend:<9} {r['start_s']:>7.2f}s {r['idle_rss_mib']:>6.0f}MiB "
                f"{r['p50_ms']:>7.1f}ms {r['p99_ms']:>7.1f}ms {r['per_s']:>9.0f}"
            )


if __name__ == "__main__":
    main()
