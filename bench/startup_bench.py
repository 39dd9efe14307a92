"""Whole-process start-up time of `styx --help` and `styx status` (median of repeated runs).

    .venv/bin/python bench/startup_bench.py [--runs 30]

Goal: <= 0.15 s each on the 2-core project machine. Uses an empty, temporary STYX_HOME.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def measure(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    styx = shutil.which("styx", path=os.path.dirname(sys.executable)) or "styx"
    home = tempfile.mkdtemp(prefix="styx-bench-")
    env = {**os.environ, "STYX_HOME": home}
    subprocess.run([styx, "status"], env=env, check=True, stdout=subprocess.DEVNULL)  # warm
    print(f"{'command':<16} {'median s':>9} {'p90 s':>7} {'min s':>7}  (runs={args.runs})")
    for label, cmd in (("styx --help", [styx, "--help"]), ("styx status", [styx, "status"])):
        t = sorted(measure(cmd, env, args.runs))
        p90 = t[int(len(t) * 0.9) - 1]
        print(f"{label:<16} {statistics.median(t):>9.3f} {p90:>7.3f} {t[0]:>7.3f}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
