"""A launch on an SSH pool that fails after the hosts were claimed gives every host back."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.sshd.nodes import FakeCluster
from tests.ssh.test_e2e import _leftovers, styx


def test_failed_launch_after_claiming_releases_the_hosts(
    pool: FakeCluster, styx_home: Path, tmp_path: Path
) -> None:
    task = tmp_path / "task.yaml"
    # The hosts are claimed and the runtime set up before the workdir clone fails on them.
    task.write_text(f"workdir:\n  url: file://{tmp_path}/no-such-repo\nrun: echo never\n")
    failed = styx(
        styx_home,
        "launch",
        "-y",
        "-c",
        "bad",
        "--infra",
        "ssh/testpool",
        "--num-nodes",
        "2",
        str(task),
        check=False,
    )
    assert failed.returncode != 0
    assert "terminating the new cluster 'bad'" in failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith("styx: error:")
    assert json.loads(styx(styx_home, "status", "--json").stdout) == []
    assert json.loads((styx_home / "ssh" / "claims.json").read_text()) == {}
    assert _leftovers(pool) == {}
