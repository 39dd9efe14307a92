"""Managed jobs on the local provider, through the real CLI and the detached controller."""

from __future__ import annotations

import os
from pathlib import Path

from tests.integration.test_local_cli import instance_dirs, styx
from tests.jobs.conftest import (
    cli_job,
    controller_pid,
    job,
    kill_controller,
    queue,
    submitted_id,
    wait_final,
    wait_until,
)

RUN_ENV = "echo task=$SKYPILOT_TASK_ID styx_task=$STYX_TASK_ID managed=$SKYPILOT_MANAGED_JOB_ID"


def _task(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(body)
    return str(path)


def test_launch_follows_the_job_to_success_and_tears_down(jobs_home: Path, tmp_path: Path) -> None:
    task = _task(
        tmp_path,
        "ok",
        f"name: ok\nresources: {{infra: local}}\nrun: |\n  {RUN_ENV}\n  echo $TOKEN\n",
    )
    out = styx(jobs_home, "jobs", "launch", "-y", "--secret", "TOKEN=hush-42", task)
    assert out.returncode == 0, out.stderr
    job_id = submitted_id(out.stdout)
    assert "hush-42" in out.stdout  # the job got it; the state store never held it
    assert b"hush-42" not in b"".join(p.read_bytes() for p in jobs_home.glob("state.db*"))
    assert not (jobs_home / "jobs" / str(job_id) / "secrets.json").exists()  # gone once final
    line = next(ln for ln in out.stdout.splitlines() if "task=" in ln)
    task_id = line.split("task=", 1)[1].split()[0]
    assert task_id and f"styx_task={task_id}" in line and f"managed={job_id}" in line, line
    record = cli_job(jobs_home, job_id)
    assert (record["status"], record["recovery_count"], record["infra"]) == (
        "SUCCEEDED",
        0,
        "local/local",
    )
    assert record["started_at"] and record["ended_at"] and record["failure_reason"] is None
    # Nothing left after a final status: no cluster, no instance.
    assert "No existing clusters." in styx(jobs_home, "status").stdout
    assert instance_dirs(jobs_home) == []
    # The log outlives the cluster: kept on the client.
    logs = styx(jobs_home, "jobs", "logs", "--no-follow", str(job_id))
    assert f"managed={job_id}" in logs.stdout, logs


def test_restarts_on_errors_then_failed_and_recover_on_exit_codes(
    jobs_home: Path, tmp_path: Path
) -> None:
    counter = tmp_path / "attempts"
    failing = _task(
        tmp_path,
        "failing",
        "resources:\n  infra: local\n  job_recovery: {max_restarts_on_errors: 1}\n"
        f"run: echo attempt >> {counter}; exit 3\n",
    )
    # Exits 33 on its first two runs, then succeeds: 33 is listed, so each run is retried.
    flaky = _task(
        tmp_path,
        "flaky",
        "resources:\n  infra: local\n  job_recovery: {recover_on_exit_codes: [33]}\n"
        f"run: echo x >> {tmp_path}/flaky; [ $(wc -l < {tmp_path}/flaky) -ge 3 ] || exit 33\n",
    )
    out = styx(jobs_home, "jobs", "launch", "-y", failing)
    assert out.returncode == 3, (out.stdout, out.stderr)  # the job's own exit code
    first = submitted_id(out.stdout)
    flaky_id = submitted_id(styx(jobs_home, "jobs", "launch", "-y", "-d", flaky).stdout)
    record = job(jobs_home, first)
    assert (record["status"], record["recovery_count"]) == ("FAILED", 1)
    assert "exit code 3" in record["failure_reason"]
    assert counter.read_text().splitlines() == ["attempt", "attempt"]  # one rerun, no more
    flaky_record = wait_final(jobs_home, flaky_id)
    assert (flaky_record["status"], flaky_record["recovery_count"]) == ("SUCCEEDED", 2)
    assert instance_dirs(jobs_home) == []


def test_cancel_a_running_job_terminates_its_cluster(jobs_home: Path, tmp_path: Path) -> None:
    task = _task(tmp_path, "long", "resources: {infra: local}\nrun: echo started; sleep 300\n")
    job_id = submitted_id(styx(jobs_home, "jobs", "launch", "-y", "-d", task).stdout)
    wait_until(lambda: job(jobs_home, job_id)["status"] == "RUNNING", 60, "RUNNING")
    out = styx(jobs_home, "jobs", "cancel", "-y", str(job_id))
    assert out.returncode == 0 and f"Cancelling managed job(s) {job_id}" in out.stdout, out
    record = wait_final(jobs_home, job_id)
    assert record["status"] == "CANCELLED"
    assert instance_dirs(jobs_home) == []
    assert "No existing clusters." in styx(jobs_home, "status").stdout
    again = styx(jobs_home, "jobs", "cancel", "-y", str(job_id))
    assert "already finished" in again.stdout
    unknown = styx(jobs_home, "jobs", "cancel", "-y", "999")
    assert unknown.returncode != 0 and "no managed job 999" in unknown.stderr


def test_pipeline_runs_in_order_and_stops_at_a_failed_stage(
    jobs_home: Path, tmp_path: Path
) -> None:
    order = tmp_path / "order"
    pipeline = _task(
        tmp_path,
        "pipe",
        "name: pipe\n---\n"
        f"name: one\nresources: {{infra: local}}\nrun: echo one >> {order}\n---\n"
        f"name: two\nresources: {{infra: local}}\nrun: echo two >> {order}; exit 4\n---\n"
        f"name: three\nresources: {{infra: local}}\nrun: echo three >> {order}\n",
    )
    out = styx(jobs_home, "jobs", "launch", "-y", pipeline)
    assert out.returncode == 4, (out.stdout, out.stderr)
    assert "pipeline 'pipe'" in out.stdout
    stages = sorted(
        (j for j in queue(jobs_home) if j.get("pipeline") == "pipe"), key=lambda j: j["stage"]
    )
    assert [(s["name"], s["stage"], s["status"]) for s in stages] == [
        ("one", 0, "SUCCEEDED"),
        ("two", 1, "FAILED"),
        ("three", 2, "CANCELLED"),
    ]
    assert "stage 2" in stages[2]["failure_reason"]
    assert order.read_text().splitlines() == ["one", "two"]
    table = styx(jobs_home, "jobs", "queue").stdout
    assert "pipe 2/3" in table, table


def test_a_pipeline_with_a_bad_stage_is_refused_before_anything_starts(
    jobs_home: Path, tmp_path: Path
) -> None:
    pipeline = _task(
        tmp_path,
        "bad",
        "name: bad\n---\nrun: echo one\n---\nrun: echo two\nresources: {cpus: lots}\n",
    )
    out = styx(jobs_home, "jobs", "launch", "-y", pipeline)
    assert out.returncode != 0 and "stage 2" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "No managed jobs." in styx(jobs_home, "jobs", "queue").stdout
    assert controller_pid(jobs_home) is None


def test_controller_killed_then_restarted_adopts_the_running_job(
    jobs_home: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    task = _task(
        tmp_path,
        "gated",
        "resources: {infra: local}\n"
        f"run: echo started; while [ ! -e {gate} ]; do sleep 0.1; done; echo finished\n",
    )
    job_id = submitted_id(styx(jobs_home, "jobs", "launch", "-y", "-d", task).stdout)
    wait_until(lambda: job(jobs_home, job_id)["status"] == "RUNNING", 60, "RUNNING")
    first = controller_pid(jobs_home)
    kill_controller(jobs_home)
    assert first is not None and controller_pid(jobs_home) in (None, first)
    gate.touch()
    assert styx(jobs_home, "jobs", "queue").returncode == 0  # the next command restarts it
    record = wait_final(jobs_home, job_id)
    assert controller_pid(jobs_home) not in (None, first)
    assert (record["status"], record["recovery_count"]) == ("SUCCEEDED", 0)  # watched, not rerun
    log = styx(jobs_home, "jobs", "logs", str(job_id)).stdout
    assert log.count("started") == 1 and "finished" in log, log
    assert instance_dirs(jobs_home) == []


def test_a_lost_node_is_recovered_across_a_controller_kill_and_resumes(
    jobs_home: Path, tmp_path: Path
) -> None:
    """The local node vanishes under the job (its folder and processes gone, as a preempted VM
    is): the controller relaunches, is killed mid-recovery, and the job still resumes from its
    checkpoint and succeeds."""
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    task = _task(
        tmp_path,
        "ckpt",
        "resources: {infra: local}\n"
        f"envs: {{CKPT: {ckpt}}}\n"
        "run: |\n"
        "  f=$CKPT/$SKYPILOT_TASK_ID; i=$(cat $f 2>/dev/null || echo 0)\n"
        "  echo resume-from=$i\n"
        "  while [ $i -lt 30 ]; do i=$((i+1)); echo $i > $f.tmp; mv $f.tmp $f; sleep 0.1; done\n"
        "  echo done-at=$i\n",
    )
    job_id = submitted_id(styx(jobs_home, "jobs", "launch", "-y", "-d", task).stdout)
    wait_until(
        lambda: any(int(p.read_text() or 0) >= 5 for p in ckpt.glob("sky-*[0-9]")), 60, "progress"
    )
    # The first attempt's output is in the controller's copy before its node goes (on a busy
    # machine the log stream can start late, and a vanished node takes its own log with it).
    run_log = jobs_home / "jobs" / str(job_id) / "run.log"
    wait_until(lambda: run_log.exists() and "resume-from=0" in run_log.read_text(), 60, "log")
    import asyncio

    from styx.jobs.store import JobStore
    from styx.providers.local.provider import LocalProvider
    from styx.state.store import open_store

    jobs = JobStore(open_store())
    (victim,) = instance_dirs(jobs_home)
    asyncio.run(LocalProvider().terminate(victim.name))  # type: ignore[arg-type]
    # SIGKILL the controller in the middle of the recovery; the next `styx jobs` command starts
    # a new one, which takes back what the relaunch had made and launches again.
    wait_until(
        lambda: jobs.get(job_id).status.value == "RECOVERING",  # type: ignore[union-attr]
        60,
        "RECOVERING",
        poll=0.01,
    )
    kill_controller(jobs_home)
    assert styx(jobs_home, "jobs", "queue").returncode == 0  # the next command restarts it
    record = wait_final(jobs_home, job_id)
    assert (record["status"], record["recovery_count"]) == ("SUCCEEDED", 1), record
    log = styx(jobs_home, "jobs", "logs", str(job_id)).stdout
    resumed = [int(ln.split("=")[1]) for ln in log.splitlines() if ln.startswith("resume-from=")]
    assert resumed[0] == 0 and len(resumed) == 2 and resumed[1] >= 5, log
    assert "done-at=30" in log
    assert instance_dirs(jobs_home) == []
    assert not os.listdir(jobs_home / "local" / "instances")


def test_no_resources_fails_and_a_cancel_while_starting_leaves_nothing(
    jobs_home: Path, tmp_path: Path
) -> None:
    task = _task(tmp_path, "huge", "resources: {infra: local, cpus: 4096}\nrun: echo never\n")
    out = styx(jobs_home, "jobs", "launch", "-y", task)
    assert out.returncode == 1, (out.stdout, out.stderr)
    record = job(jobs_home, submitted_id(out.stdout))
    assert record["status"] == "FAILED_NO_RESOURCE"
    assert "cpus=4096" in record["failure_reason"], record
    # Cancelled at once: while it is PENDING or STARTING (a launch in flight is interrupted and
    # takes back what it made), or just after; whichever, it ends CANCELLED with nothing left.
    slow = _task(tmp_path, "slow", "resources: {infra: local}\nrun: sleep 300\n")
    job_id = submitted_id(styx(jobs_home, "jobs", "launch", "-y", "-d", slow).stdout)
    styx(jobs_home, "jobs", "cancel", "-y", "--all")
    assert wait_final(jobs_home, job_id, timeout=60)["status"] == "CANCELLED"
    assert "No existing clusters." in styx(jobs_home, "status").stdout
    assert instance_dirs(jobs_home) == []
