"""Managed jobs at scale and recovery latency.

    PYTHONPATH=src:. .venv/bin/python bench/managed_jobs_bench.py local --jobs 1000
    PYTHONPATH=src:. .venv/bin/python bench/managed_jobs_bench.py moto --rounds 3

``local``: N tiny managed jobs (``run: true``) on the local provider, submitted at once through
the same call `styx jobs launch -d` makes, run by the detached controller: total time, the gaps
between consecutive jobs being scheduled (reaching RUNNING), the time from submission to
RUNNING, the controller's peak RSS (VmHWM), and that none ended FAILED_CONTROLLER.

``moto``: a 1-node spot job on AWS (moto, nodes through the proxy-command harness), preempted
``--rounds`` times: time from the preemption to the controller's relaunch request, and to the
job RUNNING again.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def bench_local(n: int, interval: float, launches: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="styx-jobs-bench-"))
    os.environ["STYX_HOME"] = str(home)
    (home / "config.yaml").write_text(
        f"jobs: {{watch_interval_s: {interval}, max_concurrent_launches: {launches}, "
        "idle_exit_s: 600}\n"
    )
    from styx.jobs import api
    from styx.jobs.daemon import controller_pid
    from styx.jobs.models import ManagedJobStatus
    from styx.jobs.store import JobStore
    from styx.state.store import open_store
    from styx.task import Task

    task = Task.from_yaml({"name": "tiny", "resources": {"infra": "local"}, "run": "true"})
    t0 = time.time()
    for _ in range(n):
        api.submit([task])
    submitted = time.time() - t0
    jobs = JobStore(open_store())
    pid = None
    peak = 0
    cpu0 = None
    while True:
        pid = pid or controller_pid()
        if pid:
            try:
                peak = max(peak, _rss_kib(pid, "VmHWM"))
                if cpu0 is None:
                    cpu0 = _cpu_s(pid)
                cpu = _cpu_s(pid)
            except FileNotFoundError:
                pass
        if not jobs.active():
            break
        time.sleep(0.5)
    total = time.time() - t0
    records = jobs.list()
    counts: dict[str, int] = {}
    for r in records:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    started = sorted(r.started_at for r in records if r.started_at)
    gaps = [b - a for a, b in itertools.pairwise(started)]
    waits = [r.started_at - r.submitted_at for r in records if r.started_at]
    print(f"jobs: {n}, submitted in {submitted:.2f} s, all final after {total:.1f} s")
    print(f"statuses: {counts}")
    print(
        "gap between consecutive jobs scheduled (RUNNING): "
        f"median {statistics.median(gaps):.3f} s, p95 {_pct(gaps, 0.95):.3f} s, "
        f"max {max(gaps):.3f} s"
    )
    print(f"submission -> RUNNING: median {statistics.median(waits):.1f} s, max {max(waits):.1f} s")
    print(f"controller peak RSS: {peak / 1024:.1f} MiB; CPU used: {cpu:.1f} s")
    assert counts.get(ManagedJobStatus.FAILED_CONTROLLER.value, 0) == 0
    if pid:
        import signal

        os.kill(pid, signal.SIGTERM)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_moto(rounds: int, interval: float) -> None:
    import json
    import subprocess

    import yaml
    from tests.e2e.clouds import AWS_IMAGE, aws_section
    from tests.e2e.conftest import Nodes, base_env, cloud_section, power_off
    from tests.fakes.aws.faults import interrupt_spot
    from tests.fakes.aws.moto_server import aws_env, start_moto
    from tests.fakes.sshd.map_proxy import release
    from tests.fakes.sshd.nodes import authorize, start_cluster

    tmp = Path(tempfile.mkdtemp(prefix="styx-jobs-moto-"))
    home = tmp / "home"
    home.mkdir()
    os.environ["STYX_HOME"] = str(home)
    moto = start_moto()
    cluster = start_cluster(tmp / "sshd", 1)
    try:
        from styx.keys import ensure_ssh_key

        _, public = ensure_ssh_key()
        authorize(cluster, public)
        map_file = tmp / "map.json"
        map_file.write_text(json.dumps({"__pool__": [n.port for n in cluster.nodes]}))
        nodes = Nodes(cluster, map_file)
        config = {"aws": cloud_section(nodes, **aws_section())}
        text = yaml.safe_dump(config) + f"jobs: {{watch_interval_s: {interval}}}\n"
        (home / "config.yaml").write_text(text)
        env = {**base_env(home, tmp), **aws_env(moto)}
        task = tmp / "t.yaml"
        task.write_text(
            f"resources: {{infra: aws/us-east-1, use_spot: true, cpus: 2, image_id: {AWS_IMAGE}}}\n"
            "run: sleep 600\n"
        )

        def cli(*args: str) -> str:
            return subprocess.run(
                [sys.executable, "-m", "styx.cli.main", *args], env=env, capture_output=True,
                text=True, check=True, timeout=120,
            ).stdout  # fmt: skip

        out = cli("jobs", "launch", "-y", "-d", str(task))
        job_id = int(out.split("Managed job ", 1)[1].split()[0])
        from styx.jobs.store import JobStore
        from styx.state.store import open_store

        store = open_store()
        jobs = JobStore(store)

        def running(count: int) -> bool:
            j = jobs.get(job_id)
            return j is not None and j.status.value == "RUNNING" and j.recovery_count == count

        _wait(lambda: running(0), 120)
        to_request, to_running = [], []
        for r in range(1, rounds + 1):
            time.sleep(1.0)
            insts = store.instances(f"styx-job-{job_id}")
            t0 = time.time()
            interrupt_spot(str(insts[0].native_id))
            for inst in insts:
                power_off(nodes.node_for(str(inst.public_ip)).home)
            release(map_file, [str(i.public_ip) for i in insts])

            def asked_at(since: float = t0) -> float | None:
                times = [
                    e["ts"]
                    for e in store.events(f"styx-job-{job_id}", limit=20)
                    if "recovering" in e["message"] and e["ts"] > since
                ]
                return min(times) if times else None

            _wait(lambda: asked_at() is not None, 60)
            asked = asked_at() or t0
            _wait(lambda c=r: running(c), 120)
            to_request.append(asked - t0)
            to_running.append(time.time() - t0)
        cli("jobs", "cancel", "-y", str(job_id))
        _wait(lambda: jobs.get(job_id).status.final, 60)  # type: ignore[union-attr]
        print(f"watch interval {interval} s, {rounds} preemptions of a 1-node spot job on moto")
        print("preemption -> relaunch request: " + ", ".join(f"{v:.2f}" for v in to_request) + " s")
        print("preemption -> RUNNING again:    " + ", ".join(f"{v:.2f}" for v in to_running) + " s")
    finally:
        from styx.jobs.daemon import controller_pid

        pid = controller_pid()
        if pid:
            import signal

            os.kill(pid, signal.SIGTERM)
        power_off(cluster.nodes[0].home)
        cluster.stop()
        moto.stop()


def _wait(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit("timed out")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    local = sub.add_parser("local")
    local.add_argument("--jobs", type=int, default=1000)
    local.add_argument("--interval", type=float, default=10.0)
    local.add_argument("--launches", type=int, default=16)
    moto = sub.add_parser("moto")
    moto.add_argument("--rounds", type=int, default=3)
    moto.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args()
    if args.what == "local":
        bench_local(args.jobs, args.interval, args.launches)
    else:
        bench_moto(args.rounds, args.interval)


if __name__ == "__main__":
    main()
