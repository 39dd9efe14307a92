"""The managed-job preemption scenario every cloud goes through: a checkpointing spot job is
preempted (by the fake cloud, as the real one does it) ``rounds`` times; it must end SUCCEEDED with
recovery_count == rounds, each run resuming from the checkpoint named by SKYPILOT_TASK_ID."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from styx.providers.instance import Instance
from tests.e2e.conftest import Nodes, base_env, cloud_section, power_off
from tests.fakes.sshd.map_proxy import release
from tests.jobs.conftest import JOBS_CONFIG, cli_job, job, kill_controller, wait_until

STEPS = 30  # the job's work: one step per 0.1 s, checkpointed after each


def _cli(home: Path, env: dict[str, str], *args: str) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _job(home: Path, env: dict[str, str], job_id: int) -> dict[str, Any]:
    return job(home, job_id)


def _copied(home: Path, job_id: int) -> str:
    path = home / "jobs" / str(job_id) / "run.log"
    return path.read_text() if path.exists() else ""


def _progress(ckpt: Path) -> int:
    files = [f for f in ckpt.iterdir() if not f.name.endswith(".tmp")]  # written, then renamed
    return max((int(f.read_text() or 0) for f in files), default=0)


def _preempt(
    home: Path, nodes: Nodes | None, cluster: str, cloud_preempt: Callable[[Instance], None]
) -> None:
    """The cloud reclaims one instance of the cluster. Nodes behind the proxy harness outlive
    their fake instances: every node of the gang is then powered off and its address freed for
    the relaunch. (A Kubernetes pod's processes end with the pod itself.)"""
    import os

    assert os.environ["STYX_HOME"] == str(home)
    from styx.state.store import open_store

    insts = sorted(open_store().instances(cluster), key=lambda i: i.node_rank)
    victim = insts[-1]
    assert victim.native_id
    cloud_preempt(victim)
    if nodes is not None:
        for inst in insts:
            power_off(nodes.node_for(str(inst.public_ip)).home)
        release(nodes.map_file, [str(i.public_ip) for i in insts])


def preemption_scenario(
    styx_home: Path,
    tmp_path: Path,
    nodes: Nodes | None,
    cloud: str,
    section: dict[str, Any],
    cloud_env: dict[str, str],
    resources: str,
    cloud_preempt: Callable[[Instance], None],
    rounds: int,
    num_nodes: int = 1,
) -> dict[str, Any]:
    """Run the scenario; the job's final queue record. ``resources`` is the inside of the task's
    resources mapping (``infra: aws/us-east-1, use_spot: true``)."""
    config = {cloud: cloud_section(nodes, **section) if nodes is not None else section}
    (styx_home / "config.yaml").write_text(yaml.safe_dump(config) + JOBS_CONFIG)
    env = {**base_env(styx_home, tmp_path), **cloud_env}
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir(mode=0o777)
    ckpt.chmod(0o777)
    task = tmp_path / "train.yaml"
    task.write_text(
        f"name: train\nnum_nodes: {num_nodes}\n"
        f"resources: {{{resources}}}\n"
        f"envs: {{CKPT: {ckpt}}}\n"
        "run: |\n"
        '  [ "$SKYPILOT_NODE_RANK" = 0 ] || { sleep 600; exit 0; }\n'
        "  f=$CKPT/$SKYPILOT_TASK_ID; i=$(cat $f 2>/dev/null || echo 0)\n"
        "  echo resume-from=$i job=$SKYPILOT_MANAGED_JOB_ID\n"
        f"  while [ $i -lt {STEPS} ]; do i=$((i+1))\n"
        "    echo $i > $f.tmp; mv $f.tmp $f; sleep 0.1\n"
        "  done\n"
        "  echo done-at=$i\n"
    )
    if num_nodes > 1:
        # The worker only has to exist; rank 0 does the work and ends the job.
        text = task.read_text().replace("sleep 600; exit 0", "exit 0")
        task.write_text(text)
    try:
        out = _cli(styx_home, env, "jobs", "launch", "-y", "-d", str(task))
        assert out.returncode == 0, out.stderr
        job_id = int(out.stdout.split("Managed job ", 1)[1].split()[0])
        marks = [0]
        for round_ in range(1, rounds + 1):
            wait_until(
                lambda r=round_: (
                    _job(styx_home, env, job_id)["status"] == "RUNNING"
                    and _progress(ckpt) >= marks[-1] + 5
                    # The controller has copied this run's first line: a node that dies takes
                    # whatever output was not streamed off it yet.
                    and _copied(styx_home, job_id).count("resume-from=") >= r
                ),
                120,
                f"progress before preemption {round_}",
            )
            record = _job(styx_home, env, job_id)
            assert record["recovery_count"] == round_ - 1
            marks.append(_progress(ckpt))
            _preempt(styx_home, nodes, record["cluster"], cloud_preempt)
            wait_until(
                lambda r=round_: _job(styx_home, env, job_id)["recovery_count"] == r,
                60,
                f"recovery {round_}",
            )
        record = wait_until(
            lambda: (lambda j: j if j["status"] not in (
                "PENDING", "STARTING", "RUNNING", "RECOVERING") else None)(
                _job(styx_home, env, job_id)),
            180,
            "the job to end",
        )  # fmt: skip
        assert (record["status"], record["recovery_count"]) == ("SUCCEEDED", rounds), record
        assert cli_job(styx_home, job_id) == record  # `styx jobs queue --json` agrees
        log = _cli(styx_home, env, "jobs", "logs", "--no-follow", str(job_id)).stdout
        resumed = [
            int(ln.split("resume-from=")[1].split()[0])
            for ln in log.splitlines()
            if "resume-from=" in ln
        ]
        # Three runs; each later one started where the checkpoint was, never from 0 again.
        assert len(resumed) == rounds + 1 and resumed[0] == 0, log
        for run in range(1, rounds + 1):
            assert resumed[run] >= marks[run] > resumed[run - 1], (resumed, marks)
        assert f"done-at={STEPS}" in log and f"job={job_id}" in log
        # One checkpoint file: the task id was the same on every cluster.
        assert len(list(ckpt.iterdir())) == 1
        return record
    finally:
        kill_controller(styx_home)
