"""A whole in-process flow on the local provider with the state in PostgreSQL (no API server):
launch, exec, queue, logs, status from a second machine's CLI, down, cost-report."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import fresh_database
from tests.integration.test_local_cli import instance_dirs, styx


@pytest.mark.slow
def test_local_flow_keeps_its_state_in_postgres(
    styx_home: Path, tmp_path: Path, postgres_url: str
) -> None:
    url = fresh_database(postgres_url)
    launched = styx(
        styx_home, "launch", "-y", "-c", "pgflow", "examples/hello.yaml", STYX_DB_URL=url
    )
    assert launched.returncode == 0, launched.stderr
    assert "Hello from Styx: node 0 of 1" in launched.stdout
    try:
        with psycopg.connect(url) as conn:
            (row,) = conn.execute("SELECT name, status FROM styx_state.clusters").fetchall()
        assert row == ("pgflow", "UP")
        assert not (styx_home / "state.db").exists()  # nothing went to the SQLite file

        ran = styx(styx_home, "exec", "pgflow", "--", "echo", "from-exec", STYX_DB_URL=url)
        assert ran.returncode == 0 and "from-exec" in ran.stdout, ran.stderr
        jobs = json.loads(styx(styx_home, "queue", "pgflow", "--json", STYX_DB_URL=url).stdout)
        assert [(j["job_id"], j["status"]) for j in jobs] == [(1, "SUCCEEDED"), (2, "SUCCEEDED")]
        logs = styx(styx_home, "logs", "pgflow", "2", STYX_DB_URL=url)
        assert logs.returncode == 0 and "from-exec" in logs.stdout, logs.stderr

        # A teammate's CLI (another home, the same database) sees the cluster.
        other = tmp_path / "teammate"
        other.mkdir()
        listing = json.loads(styx(other, "status", "--json", STYX_DB_URL=url).stdout)
        assert [(c["name"], c["status"]) for c in listing] == [("pgflow", "UP")]
    finally:
        down = styx(styx_home, "down", "-y", "pgflow", STYX_DB_URL=url)
    assert down.returncode == 0, down.stderr
    assert instance_dirs(styx_home) == []
    assert json.loads(styx(styx_home, "status", "--json", STYX_DB_URL=url).stdout) == []
    report = styx(styx_home, "cost-report", "--json", STYX_DB_URL=url)
    assert report.returncode == 0, report.stderr
    (row,) = json.loads(report.stdout)["clusters"]  # the usage period outlives the cluster
    assert (row["cluster"], row["alive"], row["cost"]) == ("pgflow", False, 0.0)
    assert 0 < row["hours"] < 1
