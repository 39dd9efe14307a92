"""The server's database layer on SQLite and on a real PostgreSQL: migrations, users, tokens
(stored hashed, checked exactly), requests and their output."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from styx.db import open_database
from styx.db.engine import MIGRATIONS
from styx.db.requests import RequestStatus, RequestStore
from styx.db.users import UserStore
from styx.errors import StyxError


def test_migrations_apply_once_and_reopen(db_url: str) -> None:
    db = open_database(db_url)
    assert db.version() == len(MIGRATIONS)
    UserStore(db).add("alice")
    db.close()
    again = open_database(db_url)  # a second server (or a restart) finds the schema current
    assert again.version() == len(MIGRATIONS)
    assert [u.name for u in UserStore(again).list()] == ["alice"]
    again.close()


def test_first_user_is_admin_and_names_are_checked(db_url: str) -> None:
    users = UserStore(open_database(db_url))
    assert users.add("alice").is_admin
    assert not users.add("bob").is_admin
    with pytest.raises(StyxError, match="already exists"):
        users.add("bob")
    with pytest.raises(StyxError, match="user name 'Bad Name'"):
        users.add("Bad Name")
    assert users.admin() is not None and users.admin().name == "alice"  # type: ignore[union-attr]


def test_tokens_are_stored_hashed_and_checked_exactly(db_url: str) -> None:
    from sqlalchemy import select

    from styx.db.tables import tokens

    db = open_database(db_url)
    users = UserStore(db)
    users.add("alice")
    users.add("bob")
    issued = users.create_token("bob")
    assert users.authenticate(issued.token) == users.get("bob")
    assert users.authenticate(issued.token[:-1]) is None
    assert users.authenticate(issued.token + "x") is None
    assert users.authenticate("") is None
    with db.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(tokens)).all()]
    assert stored and not any(issued.token in str(v) for row in stored for v in row)
    users.revoke(issued.token_id)
    assert users.authenticate(issued.token) is None
    second = users.create_token("bob")
    users.remove("bob")  # removing a user revokes their tokens
    assert users.authenticate(second.token) is None
    with pytest.raises(StyxError, match="no user 'carol'"):
        users.create_token("carol")


def test_requests_keep_status_result_and_ordered_output(db_url: str) -> None:
    store = RequestStore(open_database(db_url))
    rid = store.create("alice", "launch", {"cluster": "c1"}, "c1")
    assert store.get(rid).status is RequestStatus.PENDING  # type: ignore[union-attr]
    store.set_running(rid, "host:1")
    store.append_logs(rid, 0, [("progress", "provisioning"), ("output", "line 1\n")])
    store.append_logs(rid, 2, [("output", "line 2\n")])
    assert [(c.seq, c.stream, c.text) for c in store.logs(rid, offset=1)] == [
        (1, "output", "line 1\n"),
        (2, "output", "line 2\n"),
    ]
    store.request_cancel(rid)
    assert store.cancel_requested(rid)
    store.finish(rid, RequestStatus.SUCCEEDED, {"job_id": 1})
    record = store.get(rid)
    assert record is not None and record.status is RequestStatus.SUCCEEDED
    assert record.result == {"job_id": 1} and record.finished_at is not None
    assert [r.id for r in store.list("alice")] == [rid] and store.list("bob") == []


def test_requests_of_a_dead_server_are_marked_failed(db_url: str) -> None:
    store = RequestStore(open_database(db_url))
    dead, live, elsewhere = (store.create("alice", "launch", {}, None) for _ in range(3))
    store.set_running(dead, "node-a:4001")
    store.set_running(live, "node-a:4002")
    store.set_running(elsewhere, "node-b:4001")  # another machine's process: not ours to judge
    assert store.fail_orphans("node-a", alive=lambda pid: pid == 4002) == [dead]
    record = store.get(dead)
    assert record is not None and record.status is RequestStatus.FAILED
    assert record.error == "the server running it stopped"
    assert store.get(live).status is RequestStatus.RUNNING  # type: ignore[union-attr]
    assert store.get(elsewhere).status is RequestStatus.RUNNING  # type: ignore[union-attr]


def test_default_database_is_a_private_sqlite_file(styx_home: Path) -> None:
    os.environ.pop("STYX_DB_URL", None)
    open_database().close()
    path = styx_home / "server" / "api.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_bad_database_url_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYX_DB_URL", "mysql://x@y/z")
    with pytest.raises(StyxError, match="STYX_DB_URL: expected a postgresql"):
        open_database()
