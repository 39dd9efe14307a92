"""The Python SDK, the layer the CLI stands on."""

from __future__ import annotations

from pathlib import Path

import pytest

import styx
from styx.errors import ClusterNotFoundError, JobError


def test_launch_exec_status_down_from_python(styx_home: Path) -> None:
    lines: list[str] = []
    task = styx.Task.from_yaml(
        {"resources": {"infra": "local"}, "envs": {"WHO": "sdk"}, "run": "echo hello $WHO"}
    )
    result = styx.launch(task, cluster_name="sdk", output=lines.append, progress=lambda _m: None)
    assert (result.cluster_name, result.job_id, result.status) == ("sdk", 1, "SUCCEEDED")
    assert "hello sdk\n" in lines

    again: list[str] = []
    ran = styx.exec(
        styx.Task(run="echo second"), "sdk", output=again.append, progress=lambda _m: None
    )
    assert ran.job_id == 2 and again == ["second\n"]
    assert [(r.name, r.status.value) for r in styx.status()] == [("sdk", "UP")]
    assert [j["status"] for j in styx.queue("sdk")] == ["SUCCEEDED", "SUCCEEDED"]

    with pytest.raises(JobError) as failed:
        styx.exec(styx.Task(run="exit 3"), "sdk", output=lambda _l: None, progress=lambda _m: None)
    assert failed.value.returncode == 3

    styx.down("sdk")
    assert styx.status() == []
    with pytest.raises(ClusterNotFoundError):
        styx.down("sdk")
