"""Benchmark: `styx exec` on an up SSH-pool cluster, and a 2-node launch to first output line.

Real OpenSSH sshd nodes on 127.0.0.1 (tests/fakes/sshd). Every figure is a whole `styx` process,
from spawning it to its exit (exec) or to the first line of job output (launch).

    PYTHONPATH=src:. python bench/ssh_exec_bench.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.fakes.sshd.nodes import start_cluster  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="styx-ssh-bench-"))
    home = root / "styx-home"
    home.mkdir()
    cluster = start_cluster(root / "nodes", 2)
    cluster.write_pools(home)
    env = {**os.environ, "STYX_HOME": str(home)}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO)])
    cli = [sys.executable, "-m", "styx.cli.main"]
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [
                *cli,
                "launch",
                "-y",
                "-c",
                "bench",
                "--infra",
                "ssh/testpool",
                "--num-nodes",
                "2",
                "echo first-line",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()
        launch_first = time.perf_counter() - start
        proc.wait()
        launch_total = time.perf_counter() - start
        assert "first-line" in first, first
        print(f"launch 2-node (fresh runtime install) to first output line: {launch_first:.2f} s")
        print(f"launch 2-node, whole process: {launch_total:.2f} s")

        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(
                [*cli, "exec", "bench", "true"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - start)
        print(
            f"styx exec bench true (2 nodes), whole process, {args.runs} runs: "
            f"median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
            f"max {max(times):.3f} s (goal <= 0.3 s)"
        )
        start = time.perf_counter()
        subprocess.run([*cli, "--help"], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"for scale: `styx --help` alone: {time.perf_counter() - start:.3f} s")
        subprocess.run(
            [*cli, "down", "-y", "bench"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        cluster.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
