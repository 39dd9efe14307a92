"""API server: start to first answer, idle RSS of all its processes, and `status` latency
(p50/p99) and throughput with concurrent clients, on SQLite and on PostgreSQL (a throwaway
Debian PostgreSQL, as in tests/api).

    PYTHONPATH=src:. .venv/bin/python bench/api_bench.py [--clients 50] [--calls 10]
        [--procs 5] [--backend sqlite|postgres|both]

- start: `styx api start` (detached, as a user runs it) until it returns, i.e. until the
  server answered /api/health; then the first `status` (cold) and the first /api/ready.
- idle RSS: 2 s after start, summed over every process of the server: its descendants and any
  process carrying its $STYX_HOME (a managed-jobs controller it runs, however detached); also
  after the load.
- status: each client calls the SDK's `styx.sdk.status()` with STYX_API_SERVER/STYX_API_TOKEN
  set, so it measures whatever path the client uses. Clients are threads spread over --procs
  processes, so the client side's GIL is not what is measured.
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
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from tests.api.postgres import free_port, postgres_server

REPO = Path(__file__).resolve().parent.parent


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def server_processes(pid: int, home: Path) -> set[int]:
    """The server process, its descendants, and every process whose environment has the
    server's STYX_HOME (what it started, even after a double fork)."""
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p not in found and Path(f"/proc/{p}").exists():
            found.add(p)
            todo += _children(p)
    marker = f"STYX_HOME={home}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def rss_mib(pids: set[int]) -> float:
    total_kib = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


def styx(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        env=env, check=True, capture_output=True, text=True, cwd=REPO,
    ).stdout  # fmt: skip


def _client_env(endpoint: str, token: str) -> None:
    """This process is a client machine: its own home, the server's endpoint and a token."""
    os.environ["STYX_HOME"] = tempfile.mkdtemp(prefix="styx-api-bench-client-")
    os.environ["STYX_API_SERVER"] = endpoint
    os.environ["STYX_API_TOKEN"] = token
    os.environ.pop("STYX_DB_URL", None)


def _client_process(endpoint: str, token: str, threads: int, calls: int, start_at: float) -> list:
    """One client process: ``threads`` clients, each making ``calls`` status calls in a row
    from ``start_at`` (wall clock, shared by all processes). Returns (t0, t1) per call."""
    _client_env(endpoint, token)
    from styx import sdk

    sdk.status()  # imports and the first connection, outside the measure
    time.sleep(max(0.0, start_at - time.time()))

    def one_client(_i: int) -> list[tuple[float, float]]:
        spans = []
        for _ in range(calls):
            t0 = time.time()
            sdk.status()
            spans.append((t0, time.time()))
        return spans

    with ThreadPoolExecutor(threads) as pool:
        return [s for spans in pool.map(one_client, range(threads)) for s in spans]


@dataclass
class Figures:
    start_s: float
    first_status_ms: float
    idle_rss_mib: float
    idle_procs: int
    loaded_rss_mib: float
    p50_ms: float
    p99_ms: float
    per_s: float
    calls: int


def measure(db_url: str | None, clients: int, calls: int, procs: int) -> Figures:
    home = Path(tempfile.mkdtemp(prefix="styx-api-bench-"))
    env = {**os.environ, "STYX_HOME": str(home)}
    for name in ("STYX_API_SERVER", "STYX_API_TOKEN", "STYX_DB_URL"):
        env.pop(name, None)
    if db_url:
        env["STYX_DB_URL"] = db_url
    styx(env, "api", "users", "add", "bench")
    token = json.loads(styx(env, "api", "tokens", "create", "--json"))["token"]
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    styx(env, "api", "start", "--port", str(port))  # returns once /api/health answered
    start_s = time.perf_counter() - started
    pid = int(json.loads((home / "server" / "api.pid").read_text())["pid"])
    try:
        with urllib.request.urlopen(endpoint + "/api/ready", timeout=5) as r:
            assert r.status == 200, "not ready"
        first = subprocess.run(
            [sys.executable, "-c", "import time,styx.sdk as s;t=time.perf_counter();s.status();"
             "print(time.perf_counter()-t)"],
            env={**env, "STYX_API_SERVER": endpoint, "STYX_API_TOKEN": token,
                 "STYX_HOME": tempfile.mkdtemp(prefix="styx-api-bench-client-")},
            check=True, capture_output=True, text=True, cwd=REPO,
        )  # fmt: skip
        first_status_ms = float(first.stdout.strip()) * 1000
        time.sleep(2.0)
        idle = server_processes(pid, home)
        idle_rss = rss_mib(idle)

        per_proc = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
        start_at = time.time() + 3.0  # after every client process has imported and connected
        with ProcessPoolExecutor(procs) as pool:
            futures = [
                pool.submit(_client_process, endpoint, token, n, calls, start_at)
                for n in per_proc
                if n
            ]
            spans = [s for f in futures for s in f.result()]
        loaded_rss = rss_mib(server_processes(pid, home))
        latencies = sorted(t1 - t0 for t0, t1 in spans)
        wall = max(t1 for _t0, t1 in spans) - min(t0 for t0, _t1 in spans)
        return Figures(
            start_s=start_s,
            first_status_ms=first_status_ms,
            idle_rss_mib=idle_rss,
            idle_procs=len(idle),
            loaded_rss_mib=loaded_rss,
            p50_ms=statistics.median(latencies) * 1000,
            p99_ms=latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
            per_s=len(latencies) / wall,
            calls=len(latencies),
        )
    finally:
        styx(env, "api", "stop")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--calls", type=int, default=10, help="status calls per client")
    parser.add_argument("--procs", type=int, default=5, help="client processes")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    a = parser.parse_args()
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{a.clients} clients x {a.calls} status calls, over {a.procs} client processes")
    header = (
        f"{'backend':<9} {'start':>7} {'1st status':>10} {'idle RSS':>14} {'RSS loaded':>10} "
        f"{'p50':>8} {'p99':>8} {'status/s':>8}"
    )
    print(header)
    with ExitStack() as stack:
        for backend in ("sqlite", "postgres"):
            if a.backend not in (backend, "both"):
                continue
            url = stack.enter_context(postgres_server()) if backend == "postgres" else None
            r = measure(url, a.clients, a.calls, a.procs)
            idle = f"{r.idle_rss_mib:.0f}MiB/{r.idle_procs}proc"
            print(
                f"{backend:<9} {r.start_s:>6.2f}s {r.first_status_ms:>8.0f}ms {idle:>14} "
                f"{r.loaded_rss_mib:>7.0f}MiB {r.p50_ms:>6.0f}ms {r.p99_ms:>6.0f}ms "
                f"{r.per_s:>8.0f}"
            )


if __name__ == "__main__":
    main()
