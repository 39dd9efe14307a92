"""Whole-process time of `styx --help`, `styx status` and `styx launch --dryrun` (medians).

    .venv/bin/python bench/startup_bench.py [--runs 30]

Goals on the 2-core project machine: --help and status <= 0.15 s, --dryrun <= 0.3 s. Uses a
temporary STYX_HOME with AWS, GCP and Azure marked enabled, so the dry run ranks the shipped
catalog of all three clouds.
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
    with open(os.path.join(home, "enabled_clouds.json"), "w") as f:
        f.write('{"enabled": ["aws", "gcp", "azure"]}')
    subprocess.run([styx, "status"], env=env, check=True, stdout=subprocess.DEVNULL)  # warm
    print(f"{'command':<16} {'median s':>9} {'p90 s':>7} {'min s':>7}  (runs={args.runs})")
    commands = (
        ("styx --help", [styx, "--help"]),
        ("styx status", [styx, "status"]),
        ("launch --dryrun", [styx, "launch", "--dryrun", "--gpus", "A100:8", "echo"]),
    )
    for label, cmd in commands:
        t = sorted(measure(cmd, env, args.runs))
        p90 = t[int(len(t) * 0.9) - 1]
        print(f"{label:<16} {statistics.median(t):>9.3f} {p90:>7.3f} {t[0]:>7.3f}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
