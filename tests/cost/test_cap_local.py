"""The head's daemon enforces a spending cap by itself, here on a 2-node local cluster.

Local nodes cost $0, so the test hands the head a test price through the agent's own `cap`
command (what `launch --max-cost` sends with the catalog price), then stays away: the head stops
its cluster, and `status -r` shows it STOPPED.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from styx.core.clusters import connected
from styx.state.store import open_store
from tests.conftest import REPO, styx_env


def styx(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        env=styx_env(home), capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL, cwd=str(REPO),
    )  # fmt: skip


def test_head_stops_its_cluster_at_the_cap(styx_home: Path) -> None:
    (styx_home / "config.yaml").write_text("autostop: {check_interval_s: 0.2}\n")
    out = styx(styx_home, "launch", "-y", "-c", "capped", "--infra", "local", "--num-nodes", "2",
               "--max-cost", "5", "echo hi")  # fmt: skip
    assert out.returncode == 0, out.stderr
    listing = json.loads(styx(styx_home, "status", "--json").stdout)
    assert listing[0]["max_total_cost"] == 5.0  # local nodes cost $0: never reached

    async def hand_test_price() -> None:
        async with connected(open_store(), "capped") as backend:
            # $36/h = one cent a second: a $0.02 cap is reached within seconds.
            await backend.set_cost_cap(0.02, 36.0, 0.0, down=False)

    asyncio.run(hand_test_price())
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline:
        status = styx(styx_home, "status", "-r", "capped").stdout
        if "STOPPED" in status:
            break
        time.sleep(0.5)
    assert "STOPPED" in status, status
    (head,) = [i for i in open_store().instances("capped") if i.node_rank == 0]
    log = (
        styx_home / "local" / "instances" / head.id / "home" / ".styx_runtime" / "autostop.log"
    ).read_text()
    assert "spending cap reached ($0.02" in log and ": stop" in log, log
    assert styx(styx_home, "down", "-y", "capped").returncode == 0
