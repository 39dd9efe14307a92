"""The managed-jobs table: one migration entry, appended to styx.state.schema.MIGRATIONS."""

from __future__ import annotations

MANAGED_JOBS_DDL = """
CREATE TABLE managed_jobs (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    status TEXT NOT NULL,
    task_yaml TEXT NOT NULL,
    base_dir TEXT,
    task_id TEXT NOT NULL,
    retry_until_up INTEGER NOT NULL DEFAULT 0,
    pipeline TEXT,
    pipeline_id INTEGER,
    stage INTEGER,
    num_stages INTEGER,
    recovery_count INTEGER NOT NULL DEFAULT 0,
    restarts_on_errors INTEGER NOT NULL DEFAULT 0,
    cluster TEXT,
    infra TEXT,
    agent_job_id INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    submitted_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    exit_code INTEGER,
    failure_reason TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX managed_jobs_by_status ON managed_jobs(status);
"""

# Who submitted each job (the API user through a server, else user-host as clusters have):
# a user sees and cancels only their own. Portable SQL (SQLite and PostgreSQL).
MANAGED_JOBS_OWNER_DDL = """
ALTER TABLE managed_jobs ADD COLUMN owner TEXT;
"""
