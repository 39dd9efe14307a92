from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from styx.errors import ClusterError, StyxError
from styx.providers.instance import Instance, InstanceState, ProviderType
from styx.state.schema import MIGRATIONS
from styx.state.store import ClusterRecord, ClusterStatus, StateStore


def _record(name: str) -> ClusterRecord:
    return ClusterRecord(name=name, provider="local", status=ClusterStatus.UP, num_nodes=1)


def test_schema_version_and_wal(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    assert store.schema_version() == len(MIGRATIONS)
    mode = sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    StateStore(tmp_path / "s.db")  # re-opening does not re-run migrations


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StyxError, match="newer than this Styx"):
        StateStore(tmp_path / "s.db")


def test_cluster_and_instance_round_trip(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    store.upsert_cluster(_record("c1"))
    inst = Instance(
        id="i1",
        provider=ProviderType.LOCAL,
        cluster_name="c1",  # type: ignore[arg-type]
        instance_type="local-1cpu",
        state=InstanceState.RUNNING,
        private_ip="127.0.0.1",
    )
    store.record_intents("c1", "local", None, None, "local-1cpu", ["i1", "i2"])
    store.save_instances([inst])
    assert [i["instance_id"] for i in store.intents("c1")] == ["i2"]  # saved ids leave intents
    assert store.instances("c1")[0] == inst
    store.set_cluster_status("c1", ClusterStatus.STOPPED)
    assert store.get_cluster("c1").status is ClusterStatus.STOPPED
    store.remove_cluster("c1")
    assert store.get_cluster("c1") is None and store.instances("c1") == [] and not store.intents()


def _hammer(path: str, worker: int, count: int) -> None:
    store = StateStore(path)
    for i in range(count):
        store.upsert_cluster(_record(f"w{worker}-{i}"))
        store.add_event(f"w{worker}-{i}", "test", "x")


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    StateStore(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(path, w, 60)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = StateStore(path)
    assert len(store.list_clusters()) == 120
    assert len(store.events(limit=1000)) == 120
    ok = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
    assert ok == "ok"


def test_cluster_lock_is_exclusive(tmp_path: Path) -> None:
    a, b = StateStore(tmp_path / "s.db"), StateStore(tmp_path / "s.db")
    with a.cluster_lock("c1"), pytest.raises(ClusterError, match="busy"), b.cluster_lock("c1"):
        pass
    with b.cluster_lock("c1"):  # released
        pass


def test_stale_lock_of_dead_process_is_taken_over(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    import socket

    with store.write() as db:
        db.execute(
            "INSERT INTO locks VALUES (?, ?, ?, ?, ?)",
            ("cluster:c1", "ghost", 2**22 + 12345, socket.gethostname(), 0.0),
        )
    with store.cluster_lock("c1"):
        assert store.lock_holder("cluster:c1")["owner"] != "ghost"
