"""The state store on both back-ends (SQLite file, PostgreSQL database): the same tests."""

from __future__ import annotations

import multiprocessing
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from styx.errors import ClusterError, StyxError
from styx.providers.instance import Instance, InstanceState, ProviderType
from styx.state.schema import MIGRATIONS
from styx.state.store import ClusterRecord, ClusterStatus, LockBusy, StateStore, open_store
from tests.state.target import StateTarget


def _record(name: str) -> ClusterRecord:
    return ClusterRecord(name=name, provider="local", status=ClusterStatus.UP, num_nodes=1)


def test_schema_version_and_wal(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    assert store.schema_version() == len(MIGRATIONS) and store.backend == "sqlite"
    mode = sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    StateStore(tmp_path / "s.db")  # re-opening does not re-run migrations


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StyxError, match="newer than this Styx"):
        StateStore(tmp_path / "s.db")


def test_open_store_follows_styx_db_url(state_target: StateTarget) -> None:
    store = open_store()
    assert store.backend == ("sqlite" if state_target.backend == "sqlite" else "postgresql")
    assert store.schema_version() == len(MIGRATIONS)
    store.upsert_cluster(_record("seen-by-both"))
    assert state_target.open().get_cluster("seen-by-both") is not None


def test_cluster_and_instance_round_trip(state_target: StateTarget) -> None:
    store = state_target.open()
    record = _record("c1")
    record.launched_at = 1_700_000_000.123456  # a timestamp keeps its microseconds
    record.resources = {"accelerators": "A100:8", "disk_size": 256}
    store.upsert_cluster(record)
    inst = Instance(
        id="i1",
        provider=ProviderType.LOCAL,
        cluster_name="c1",  # type: ignore[arg-type]
        instance_type="local-1cpu",
        state=InstanceState.RUNNING,
        private_ip="127.0.0.1",
    )
    store.record_intents("c1", "local", None, None, "local-1cpu", ["i1", "i2"])
    store.record_intents("c1", "local", "r", None, "local-1cpu", ["i2"])  # again: replaced
    store.save_instances([inst])
    assert [(i["instance_id"], i["region"]) for i in store.intents("c1")] == [("i2", "r")]
    assert store.instances("c1")[0] == inst
    back = store.get_cluster("c1")
    assert back.launched_at == 1_700_000_000.123456 and back.resources == record.resources
    assert back.use_spot is False and back.status is ClusterStatus.UP
    store.set_cluster_status("c1", ClusterStatus.STOPPED)
    assert store.get_cluster("c1").status is ClusterStatus.STOPPED
    store.pin_host_key("i1", "ssh-ed25519 AAAA")
    assert store.host_key("i1") == "ssh-ed25519 AAAA"
    store.remove_cluster("c1")
    assert store.get_cluster("c1") is None and store.instances("c1") == [] and not store.intents()


def test_jobs_events_and_rows(state_target: StateTarget) -> None:
    from styx.state.store import JobRecord

    store = state_target.open()
    store.save_jobs(
        [JobRecord("c", 1, "train", "RUNNING", 1.5), JobRecord("c", 2, None, "PENDING")]
    )
    store.save_jobs([JobRecord("c", 1, "train", "SUCCEEDED", 1.5, 9.25, 0)])  # replaced
    assert [(j.job_id, j.status, j.exit_code) for j in store.jobs("c")] == [
        (1, "SUCCEEDED", 0),
        (2, "PENDING", None),
    ]
    for n in range(5):
        store.add_event("c", "note", f"100% done {n}?")  # '%' and '?' in values are data
    events = store.events("c", limit=3)
    assert [e["message"] for e in events] == [f"100% done {n}?" for n in (2, 3, 4)]
    row = store.query("SELECT name, status FROM jobs WHERE job_id = ?", (1,))[0]
    assert (row[0], row["status"], dict(row)) == (
        "train",
        "SUCCEEDED",
        {"name": "train", "status": "SUCCEEDED"},
    )
    assert store.query("SELECT 'literal ? and %' AS text")[0]["text"] == "literal ? and %"
    with store.write() as db:
        assert db.execute("DELETE FROM jobs WHERE cluster = ?", ("c",)).rowcount == 2
        # Reads inside the transaction see its own uncommitted rows.
        assert store.jobs("c") == []


def test_a_failed_write_leaves_nothing(state_target: StateTarget) -> None:
    store = state_target.open()
    with pytest.raises(RuntimeError), store.write() as db:
        db.execute(
            "INSERT INTO head_reports (cluster, message, at) VALUES (?, ?, ?)", ("c", "m", 1)
        )
        raise RuntimeError("boom")
    assert store.query("SELECT * FROM head_reports") == []
    store.add_event(None, "after", "the store still works")
    assert store.events()[-1]["kind"] == "after"


def _hammer(target: StateTarget, worker: int, count: int) -> None:
    store = target.open()
    for i in range(count):
        store.upsert_cluster(_record(f"w{worker}-{i}"))
        store.add_event(f"w{worker}-{i}", "test", "x")
        # A read-modify-write: without serialised write transactions, increments get lost.
        with store.write() as db:
            row = db.execute("SELECT message FROM head_reports WHERE cluster = ?", ("n",))
            current = row.fetchone()
            value = int(current[0]) + 1 if current else 1
            db.execute(
                "INSERT INTO head_reports (cluster, message, at) VALUES (?, ?, ?) "
                "ON CONFLICT(cluster) DO UPDATE SET message = excluded.message",
                ("n", str(value), 0.0),
            )


def test_two_processes_write_at_once(state_target: StateTarget) -> None:
    # Nothing created beforehand: both processes migrate the empty database at once, too.
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(state_target, w, 60)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(90)
        assert p.exitcode == 0
    store = state_target.open()
    assert len(store.list_clusters()) == 120
    assert len(store.events(limit=1000)) == 120
    assert store.query("SELECT message FROM head_reports WHERE cluster = 'n'")[0][0] == "120"
    if state_target.path is not None:
        ok = sqlite3.connect(state_target.path).execute("PRAGMA integrity_check").fetchone()[0]
        assert ok == "ok"


def test_cluster_lock_is_exclusive(state_target: StateTarget) -> None:
    a, b = state_target.open(), state_target.open()
    with a.cluster_lock("c1"), pytest.raises(ClusterError, match="busy"), b.cluster_lock("c1"):
        pass
    with b.cluster_lock("c1"):  # released
        pass
    # Any name (e.g. one controller across replicas): the same lock, its own error.
    busy = pytest.raises(LockBusy, match="jobs-controller")
    with a.named_lock("jobs-controller"), busy, b.named_lock("jobs-controller"):
        pass


def test_stale_lock_of_dead_process_is_taken_over(state_target: StateTarget) -> None:
    store = state_target.open()
    with store.write() as db:
        db.execute(
            "INSERT INTO locks VALUES (?, ?, ?, ?, ?)",
            ("cluster:c1", "ghost", 2**22 + 12345, socket.gethostname(), 0.0),
        )
    with store.cluster_lock("c1"):
        assert store.lock_holder("cluster:c1")["owner"] != "ghost"


def test_a_lock_left_on_another_host(state_target: StateTarget) -> None:
    """A lock row of a process on another machine: SQLite cannot tell whether it still runs, so
    the lock stands; PostgreSQL knows that no live session holds it, so it is taken over."""
    store = state_target.open()
    with store.write() as db:
        db.execute(
            "INSERT INTO locks VALUES (?, ?, ?, ?, ?)",
            ("cluster:c1", "elsewhere", 2**22 + 12345, "another-host.invalid", 0.0),
        )
    if state_target.backend == "sqlite":
        with pytest.raises(ClusterError, match="busy"), store.cluster_lock("c1"):
            pass
    else:
        with store.cluster_lock("c1"):
            assert store.lock_holder("cluster:c1")["owner"] != "elsewhere"


def _hold_lock(target: StateTarget, held: Any, release: Any) -> None:
    store = target.open()
    with store.cluster_lock("c1"):
        held.set()
        release.wait(60)


def test_a_live_holder_in_another_process_keeps_its_lock(state_target: StateTarget) -> None:
    store = state_target.open()
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(state_target, held, release))
    holder.start()
    try:
        assert held.wait(60)
        with pytest.raises(ClusterError, match=f"busy.*pid {holder.pid}"), store.cluster_lock("c1"):
            pass
    finally:
        release.set()
        holder.join(60)
    assert holder.exitcode == 0
    with store.cluster_lock("c1", wait_s=5):  # released by its holder
        pass
