"""Time to load (or refuse) one hostile task file: the issue's cases plus random ones.

    PYTHONPATH=src:. .venv/bin/python bench/task_loader_bench.py [--files 2000] [--seed 1]

Every file must end in a task or a one-line TaskSpecError; the script fails otherwise. Goal:
every file well under a second (the issue's bar), typical files in a millisecond or two.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

import yaml
from tests.unit.test_task_hostile import _SPECIAL_NUMBERS, _SPECIAL_TEXT, _billion_laughs

from styx.errors import TaskSpecError
from styx.resources import RESOURCE_FIELDS
from styx.task import CORE_FIELDS, Task

ISSUE_CASES = [
    "num_nodes: 1000000",
    "num_nodes: 18446744073709551617",
    "num_nodes: 1.0e+308",
    "num_nodes: .inf",
    "resources: {cpus: " + "9" * 400 + "}",
    "resources: {cpus: .nan}",
    "resources: {accelerators: 'A100:1e400'}",
    "run: " + "[" * 500 + "]" * 500,
    "run: " + "[" * 100_000 + "]" * 100_000,
    "resources:\n  cpus: " + "{a: " * 5000 + "1" + "}" * 5000,
    _billion_laughs(9),
    _billion_laughs(30),
    "num_nodes: " + "9" * 4000,
    "num_nodes: 1\nnum_nodes: 2",
    "run: '" + "x" * 520_000 + "'",  # just under the 512 KiB cap
    "run: '" + "x" * 600_000 + "'",  # over it
]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.15:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if depth < 3 and roll < 0.3:
        keys = rng.sample(_SPECIAL_TEXT, rng.randint(0, 3))
        return {k: random_value(rng, depth + 1) for k in keys}
    if roll < 0.65:
        return rng.choice(_SPECIAL_NUMBERS)
    return rng.choice(_SPECIAL_TEXT)


def random_task(rng: random.Random) -> str:
    resources = {
        f: random_value(rng)
        for f in rng.sample(list(RESOURCE_FIELDS), rng.randint(0, len(RESOURCE_FIELDS)))
    }
    fields = rng.sample(list(CORE_FIELDS), rng.randint(0, len(CORE_FIELDS)))
    data = {f: random_value(rng) for f in fields}
    data["resources"] = resources
    return yaml.safe_dump(data)


def load_once(text: str) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        Task.from_yaml_text(text)
        outcome = "task"
    except TaskSpecError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) <= 2000, message[:300]
        outcome = "refused"
    return time.perf_counter() - start, outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"{'case':<48} {'ms':>9}  outcome")
    for text in ISSUE_CASES:
        elapsed, outcome = min(load_once(text) for _ in range(3))
        label = text[:40].replace("\n", "\\n") + ("..." if len(text) > 40 else "")
        print(f"{label:<48} {elapsed * 1000:9.2f}  {outcome}")
    times, outcomes = [], {"task": 0, "refused": 0}
    for _ in range(args.files):
        elapsed, outcome = load_once(random_task(rng))
        times.append(elapsed)
        outcomes[outcome] += 1
    times.sort()
    print(
        f"\n{args.files} random task files: median {statistics.median(times) * 1000:.2f} ms, "
        f"p99 {times[int(len(times) * 0.99) - 1] * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms; "
        f"{outcomes['task']} loaded, {outcomes['refused']} refused"
    )


if __name__ == "__main__":
    main()
