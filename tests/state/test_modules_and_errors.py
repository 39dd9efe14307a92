"""The modules that keep their own tables in the store (managed jobs, storage) on both
back-ends, and the one-line errors of a bad ``STYX_DB_URL``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from styx.errors import StyxError
from styx.jobs.models import ManagedJobStatus
from styx.jobs.store import JobStore
from styx.state.store import open_store
from styx.storage.spec import StoreKind
from styx.storage.state import BucketRecord, StorageState
from tests.api.postgres import free_port
from tests.conftest import REPO, styx_env
from tests.state.target import StateTarget


def test_managed_jobs_on_each_backend(state_target: StateTarget) -> None:
    jobs = JobStore(state_target.open())
    first = jobs.add({"run": "echo 1"}, name="a", base_dir=None)
    second = jobs.add({"run": "echo 2"}, name="b", base_dir="/w", retry_until_up=True, stage=0)
    assert second == first + 1  # ids come back from the insert (RETURNING), not lastrowid
    job = jobs.get(second)
    assert job.task_id.endswith(f"_{second}") and job.retry_until_up is True
    assert job.pipeline_id == second  # the COALESCE/CASE update, typed on PostgreSQL too
    jobs.update(first, status=ManagedJobStatus.RUNNING, cancel_requested=False, recovery_count=2)
    assert jobs.request_cancel([first, second, 999]) == [first, second]
    jobs.finish(second, ManagedJobStatus.CANCELLED, reason="asked")
    assert [j.job_id for j in jobs.active()] == [first]
    assert jobs.get(first).cancel_requested is True and jobs.get(first).recovery_count == 2
    assert [j.job_id for j in jobs.list(limit=1)] == [second]


def test_storage_records_on_each_backend(state_target: StateTarget) -> None:
    storage = StorageState(state_target.open())
    record = BucketRecord("s3://b", "b", StoreKind.S3, None, "us-east-1", True, "c", "me", 1.5)
    storage.add_bucket(record)
    storage.add_bucket(BucketRecord(**{**record.__dict__, "persistent": False}))  # replaced
    assert storage.buckets() == [BucketRecord(**{**record.__dict__, "persistent": False})]
    storage.add_mounts("c", [("/data", "s3://b", "MOUNT"), ("/ckpt", "s3://b", "COPY")])
    storage.add_mounts("c", [("/data", "s3://b", "COPY")])
    assert storage.mounts("c") == [("/ckpt", "s3://b", "COPY"), ("/data", "s3://b", "COPY")]
    storage.forget_mounts("c")
    storage.remove_bucket("s3://b")
    assert storage.mounts("c") == [] and storage.buckets() == []


def _styx_status(home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "styx.cli.main", "status"],
        env=styx_env(home, **env), capture_output=True, text=True, timeout=60, cwd=str(REPO),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://x@127.0.0.1/db", "expected a postgresql://"),
        # PORT: a free port, chosen when the test runs (test ids must not change between runs)
        ("postgresql://styx:s3cret@127.0.0.1:PORT/db", "cannot connect to PostgreSQL"),
        ("postgresql://styx@127.0.0.1:notaport/db", "PostgreSQL"),
    ],
)
def test_a_bad_db_url_is_one_line(styx_home: Path, url: str, expected: str) -> None:
    out = _styx_status(styx_home, STYX_DB_URL=url.replace("PORT", str(free_port())))
    lines = out.stderr.strip().splitlines()
    assert out.returncode != 0 and len(lines) == 1, out.stderr
    assert "STYX_DB_URL" in lines[0] and expected in lines[0], out.stderr
    assert "s3cret" not in out.stderr


def test_missing_psycopg_is_one_line(styx_home: Path) -> None:
    # The interpreter as it would be without psycopg installed (None in sys.modules makes
    # `import psycopg` fail); the product code is unchanged.
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from styx.cli.main import main; sys.argv = ['styx', 'status']; main()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=styx_env(styx_home, STYX_DB_URL="postgresql://styx@127.0.0.1:1/db"),
        capture_output=True, text=True, timeout=60, cwd=str(REPO),
    )  # fmt: skip
    lines = out.stderr.strip().splitlines()
    assert out.returncode != 0 and len(lines) == 1, out.stderr
    assert "STYX_DB_URL" in lines[0] and "psycopg" in lines[0], out.stderr


def test_a_sqlite_db_url_keeps_the_state_file(
    styx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYX_DB_URL", f"sqlite:///{styx_home / 'api.db'}")
    assert open_store().backend == "sqlite" and (styx_home / "state.db").exists()
    monkeypatch.setenv("STYX_DB_URL", "oracle://x")
    with pytest.raises(StyxError, match="STYX_DB_URL"):
        open_store()
