"""Managed jobs through a real API server process: submitted by a client process that exits,
run by the controller inside the server, preempted (its local node vanishes, as a preempted VM
does) and recovered; a later client process sees SUCCEEDED, the recovery and the log. Users see
only their own jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from styx.jobs.runner import cluster_name_for
from tests.api.conftest import fresh_database, run_styx
from tests.api.jobsrv_fixtures import JobsServer, new_jobs_server
from tests.conftest import REPO, state_of
from tests.integration.test_local_cli import instance_dirs
from tests.jobs.conftest import job_in, submitted_id, wait_until

FINAL = {"SUCCEEDED", "FAILED", "FAILED_SETUP", "FAILED_NO_RESOURCE", "FAILED_CONTROLLER",
         "CANCELLED"}  # fmt: skip


@pytest.fixture(scope="module")
def jobs_server() -> Iterator[JobsServer]:
    server = new_jobs_server()
    try:
        server.start_replica()
        yield server
    finally:
        server.stop()


def server_job(server: JobsServer, job_id: int) -> dict:  # type: ignore[type-arg]
    """The job's record in the server's state store (polling through the CLI would start a
    Python process per look)."""
    return job_in(state_of(server.home, server.env.get("STYX_DB_URL")), job_id)


def wait_server_final(server: JobsServer, job_id: int, timeout: float = 90) -> dict:  # type: ignore[type-arg]
    return wait_until(
        lambda: (lambda j: j if j["status"] in FINAL else None)(server_job(server, job_id)),
        timeout,
        f"managed job {job_id} to finish",
    )


def preempt(server: JobsServer) -> None:
    """Take the job's node away under it, with the server machine's environment."""
    (victim,) = instance_dirs(server.home)
    code = (
        "import asyncio, sys\n"
        "from styx.providers.local.provider import LocalProvider\n"
        "asyncio.run(LocalProvider().terminate(sys.argv[1]))\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, victim.name],
        env=server.env, check=True, timeout=60, cwd=str(REPO),
    )  # fmt: skip


@pytest.mark.slow
def test_a_managed_job_survives_its_client_and_a_preemption(
    jobs_server: JobsServer, tmp_path: Path
) -> None:
    server = jobs_server
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    alice.mkdir()
    bob.mkdir()
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    workdir = tmp_path / "wd"  # on the client machine: uploaded, and kept for the relaunch
    workdir.mkdir()
    (workdir / "data.txt").write_text("from-the-client\n")
    task = tmp_path / "ckpt.yaml"
    task.write_text(
        "name: resumable\n"
        "resources: {infra: local}\n"
        f"workdir: {workdir}\n"
        f"envs: {{CKPT: {ckpt}}}\n"
        "run: |\n"
        "  echo workdir=$(cat data.txt)\n"
        "  f=$CKPT/$SKYPILOT_TASK_ID; i=$(cat $f 2>/dev/null || echo 0)\n"
        "  echo resume-from=$i\n"
        "  while [ $i -lt 30 ]; do i=$((i+1)); echo $i > $f.tmp; mv $f.tmp $f; sleep 0.1; done\n"
        "  echo done-at=$i\n"
    )
    # The client submits and exits: the job is the server's from here on.
    launched = run_styx(server.client_env(alice, "alice"), "jobs", "launch", "-y", "-d", str(task))
    assert launched.returncode == 0, launched.stderr
    job_id = submitted_id(launched.stdout)
    assert not (alice / "jobs").exists()  # no controller, no job files on the client machine
    # The controller is the server's own process (the leader), never one on the client.
    pids = {int((server.home / "jobs" / "controller.pid").read_text())}
    assert pids <= {r.process.pid for r in server.replicas}

    wait_until(
        lambda: any(int(p.read_text() or 0) >= 5 for p in ckpt.glob("sky-*[0-9]")), 60, "progress"
    )
    # The first attempt's output is in the controller's copy before its node goes (on a busy
    # machine the log stream can start late, and a vanished node takes its own log with it).
    run_log = server.home / "jobs" / str(job_id) / "run.log"
    wait_until(lambda: run_log.exists() and "resume-from=0" in run_log.read_text(), 60, "log")
    preempt(server)
    record = wait_server_final(server, job_id)
    assert (record["status"], record["recovery_count"], record["owner"]) == (
        "SUCCEEDED",
        1,
        "alice",
    ), record

    # A later, separate client process sees it through the server.
    env = server.client_env(alice, "alice")
    queue = run_styx(env, "jobs", "queue", "--json")
    assert queue.returncode == 0, queue.stderr
    (seen,) = [j for j in json.loads(queue.stdout) if j["job_id"] == job_id]
    assert (seen["status"], seen["recovery_count"], seen["name"]) == ("SUCCEEDED", 1, "resumable")
    table = run_styx(env, "jobs", "queue")
    assert "SUCCEEDED" in table.stdout and "resumable" in table.stdout, table
    log = run_styx(env, "jobs", "logs", str(job_id))
    assert log.returncode == 0, log.stderr
    resumed = [int(ln.split("=")[1]) for ln in log.stdout.splitlines() if "resume-from=" in ln]
    assert resumed[0] == 0 and len(resumed) == 2 and resumed[1] >= 5, log.stdout
    assert "done-at=30" in log.stdout
    assert log.stdout.count("workdir=from-the-client") == 2, log.stdout  # both attempts
    assert list((server.home / "jobs" / "uploads").iterdir()) == []  # gone with the job
    assert instance_dirs(server.home) == []

    # The same JSON as the server machine's own in-process `styx jobs queue` (admin view).
    local = run_styx(server.env, "jobs", "queue", "--json")
    everyone = run_styx(env, "jobs", "queue", "--json", "--all-users")
    assert json.loads(everyone.stdout) == json.loads(local.stdout)

    # Another user: not in their queue, and their logs/cancel of it answer "not found".
    bob_env = server.client_env(bob, "bob")
    assert json.loads(run_styx(bob_env, "jobs", "queue", "--json").stdout) == []
    for args in (("jobs", "logs", str(job_id)), ("jobs", "cancel", "-y", str(job_id))):
        out = run_styx(bob_env, *args)
        assert out.returncode != 0 and f"managed job {job_id} not found" in out.stderr, out
    denied = run_styx(bob_env, "jobs", "queue", "--all-users")
    assert denied.returncode != 0 and "only an admin" in denied.stderr

    # cost-report: the job's clusters (both incarnations) are alice's; bob sees none of them.
    cluster = cluster_name_for(job_id)
    mine = json.loads(run_styx(env, "cost-report", "--json").stdout)
    theirs = json.loads(run_styx(bob_env, "cost-report", "--json").stdout)
    assert [c["cluster"] for c in mine["clusters"]].count(cluster) == 2, mine
    assert theirs["clusters"] == [] and theirs["total_cost"] == 0, theirs
    table = run_styx(bob_env, "cost-report")
    assert table.returncode == 0 and "No cluster ran in the last 30 day(s)." in table.stdout


def test_cancel_through_the_server_is_the_owners(jobs_server: JobsServer, tmp_path: Path) -> None:
    server = jobs_server
    task = tmp_path / "long.yaml"
    task.write_text("resources: {infra: local}\nrun: sleep 120\n")
    bob_env = server.client_env(tmp_path, "bob")
    job_id = submitted_id(run_styx(bob_env, "jobs", "launch", "-y", "-d", str(task)).stdout)
    # alice is an admin, but without --all-users she sees her own jobs only.
    alice_env = server.client_env(tmp_path, "alice")
    refused = run_styx(alice_env, "jobs", "cancel", "-y", str(job_id))
    assert refused.returncode != 0 and "not found" in refused.stderr
    cancelled = run_styx(bob_env, "jobs", "cancel", "-y", str(job_id))
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"Cancelling managed job(s) {job_id}." in cancelled.stdout
    record = wait_server_final(server, job_id)
    assert (record["status"], record["owner"]) == ("CANCELLED", "bob")
    again = run_styx(bob_env, "jobs", "cancel", "-y", "--all")
    assert again.returncode == 0 and "No unfinished managed jobs." in again.stdout


def test_launch_follows_the_job_through_the_server(jobs_server: JobsServer, tmp_path: Path) -> None:
    """Without -d the client follows the job's log from the server and exits with its code."""
    task = tmp_path / "fails.yaml"
    task.write_text("name: fails\nresources: {infra: local}\nrun: echo hi-from-managed; exit 3\n")
    out = run_styx(jobs_server.client_env(tmp_path, "bob"), "jobs", "launch", "-y", str(task))
    job_id = submitted_id(out.stdout)
    assert out.returncode == 3, out
    assert "hi-from-managed" in out.stdout
    assert f"styx: managed job {job_id} FAILED" in out.stderr
    assert server_job(jobs_server, job_id)["owner"] == "bob"


def test_storage_and_check_go_to_the_server(jobs_server: JobsServer, tmp_path: Path) -> None:
    from styx.storage.spec import BucketRef, StoreKind
    from styx.storage.state import StorageState, new_record

    server = jobs_server
    store = state_of(server.home, server.env.get("STYX_DB_URL"))
    try:  # buckets as launches through the server record them: each with its user as owner
        for owner in ("alice", "bob"):
            ref = BucketRef(StoreKind.S3, f"styx-{owner}-data")
            StorageState(store).add_bucket(new_record(ref, "us-east-1", True, None, owner))
    finally:
        store.close()
    alice_env = server.client_env(tmp_path, "alice")
    bob_env = server.client_env(tmp_path, "bob")
    mine = run_styx(alice_env, "storage", "ls", "--json")
    assert mine.returncode == 0, mine.stderr
    assert [b["name"] for b in json.loads(mine.stdout)] == ["styx-alice-data"]
    # The same JSON as the server machine's own in-process listing.
    local = json.loads(run_styx(server.env, "storage", "ls", "--json").stdout)
    everyone = json.loads(run_styx(alice_env, "storage", "ls", "--json", "--all-users").stdout)
    assert everyone == local and {b["name"] for b in local} == {"styx-alice-data", "styx-bob-data"}
    table = run_styx(bob_env, "storage", "ls")
    assert "styx-bob-data" in table.stdout and "styx-alice-data" not in table.stdout, table
    # bob cannot delete (nor learn of) alice's bucket; nothing is deleted.
    refused = run_styx(bob_env, "storage", "delete", "-y", "styx-alice-data")
    assert refused.returncode == 1 and "bucket 'styx-alice-data' not found" in refused.stderr
    assert len(json.loads(run_styx(server.env, "storage", "ls", "--json").stdout)) == 2

    # check: the server's credentials and its enabled-clouds file, not the client's.
    checked = run_styx(alice_env, "check", "local", "--json")
    assert checked.returncode == 0, checked.stderr
    assert [(c["cloud"], c["enabled"]) for c in json.loads(checked.stdout)] == [("local", True)]
    saved = json.loads((server.home / "enabled_clouds.json").read_text())
    assert "local" in saved["enabled"]
    assert not (tmp_path / "enabled_clouds.json").exists()
    local_check = json.loads(run_styx(server.env, "check", "local", "--json").stdout)
    assert local_check == json.loads(checked.stdout)


@pytest.mark.slow
def test_one_controller_across_replicas_and_takeover_on_postgres(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two replicas on one PostgreSQL database (and one home): the first holds the leader lock
    and runs the controller; killed, the other takes over and adopts the running job."""
    server = new_jobs_server(fresh_database(postgres_url))
    try:
        first = server.start_replica()
        second = server.start_replica()
        pid_file = server.home / "jobs" / "controller.pid"
        wait_until(pid_file.exists, 30, "a leader")
        assert int(pid_file.read_text()) == first.process.pid
        gate = tmp_path / "gate"
        task = tmp_path / "gated.yaml"
        task.write_text(
            "resources: {infra: local}\n"
            f"run: echo started; while [ ! -e {gate} ]; do sleep 0.1; done; echo finished\n"
        )
        env = server.client_env(tmp_path, "alice", second.endpoint)
        job_id = submitted_id(run_styx(env, "jobs", "launch", "-y", "-d", str(task)).stdout)
        wait_until(lambda: server_job(server, job_id)["status"] == "RUNNING", 60, "RUNNING")
        first.process.kill()  # the leader replica dies: its database session, and lock, go
        first.process.wait()
        wait_until(lambda: int(pid_file.read_text()) == second.process.pid, 30, "a new leader")
        gate.touch()
        record = wait_server_final(server, job_id)
        assert (record["status"], record["recovery_count"]) == ("SUCCEEDED", 0), record
        log = run_styx(env, "jobs", "logs", str(job_id)).stdout
        assert log.count("started") == 1 and "finished" in log, log  # adopted, not rerun
    finally:
        server.stop()


def test_the_leader_lock_is_held_in_postgres_across_homes(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replicas on different machines share only the database: its advisory lock alone keeps
    a second controller from starting; it is free again once the leader lets go."""
    from styx.db import open_database
    from styx.server.jobs_leader import LeaderLock

    url = "postgresql+psycopg://" + fresh_database(postgres_url).split("://", 1)[1]
    dbs = [open_database(url), open_database(url)]
    locks = [LeaderLock(db) for db in dbs]
    homes = [tmp_path / "replica-a", tmp_path / "replica-b"]
    try:
        for home, lock, expected in zip(homes, locks, (True, False), strict=True):
            home.mkdir()
            monkeypatch.setenv("STYX_HOME", str(home))
            assert lock.try_acquire() is expected
        assert locks[0].still_held()
        monkeypatch.setenv("STYX_HOME", str(homes[0]))
        locks[0].release()
        monkeypatch.setenv("STYX_HOME", str(homes[1]))
        assert locks[1].try_acquire() is True
        assert int((homes[1] / "jobs" / "controller.pid").read_text()) == os.getpid()
        locks[1].release()
    finally:
        for db in dbs:
            db.close()


def test_a_client_of_a_server_never_starts_a_controller(
    styx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from styx.errors import StyxError
    from styx.jobs.daemon import ensure_controller

    monkeypatch.setenv("STYX_API_SERVER", "http://127.0.0.1:9")
    with pytest.raises(StyxError, match="managed jobs run on the API server"):
        ensure_controller()
    assert not (styx_home / "jobs" / "controller.pid").exists()
