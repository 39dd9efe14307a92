"""The agent's autostop daemon, run against a cluster whose provider cannot act."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from styx.agent.autostop import AutostopConfig, load_config, save_config


def test_failed_action_is_logged_and_kept_for_a_retry(tmp_path: Path) -> None:
    root = tmp_path / "runtime"
    root.mkdir()
    # A provider name the head cannot load stands for a cloud head without its SDK.
    info = {"cluster_name": "c", "provider": "nosuchcloud", "instance_ids": ["i-1"]}
    (root / "cluster.json").write_text(json.dumps(info))
    save_config(root, AutostopConfig(idle_minutes=0.0, down=True, set_at=time.time() - 5))
    daemon = subprocess.Popen(
        [sys.executable, "-m", "styx.agent", "--root", str(root), "daemon", "--interval", "0.05"]
    )
    try:
        log = root / "autostop.log"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if log.exists() and "failed" in log.read_text():
                break
            time.sleep(0.05)
        text = log.read_text()
        assert "idle for 0 min: down" in text
        assert "autostop down failed: StyxError: unknown provider 'nosuchcloud'" in text
        assert load_config(root).idle_minutes == 0.0  # kept: it will try again
        assert daemon.poll() is None  # still watching
    finally:
        daemon.kill()
        daemon.wait()


def test_a_submission_resets_the_idle_clock_a_read_does_not(tmp_path: Path) -> None:
    from styx.agent.autostop import _due

    root = tmp_path / "runtime"
    root.mkdir()
    save_config(root, AutostopConfig(idle_minutes=1.0, down=False, set_at=time.time() - 120))
    assert _due(root) == (False, "idle for 1 min")

    def agent(command: str, stdin: str = "") -> None:
        subprocess.run(
            [sys.executable, "-m", "styx.agent", "--root", str(root), command],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )

    agent("queue")  # polling the cluster (styx queue, status -r) does not keep it up
    assert _due(root) == (False, "idle for 1 min")
    agent("submit", "not a job spec")  # a submission starting, even one refused, does
    assert _due(root) is None
    assert (root / "client_activity").stat().st_mode & 0o077 == 0
