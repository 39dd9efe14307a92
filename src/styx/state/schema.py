"""Schema migrations. Append a new entry to add a version; never edit a released one."""

from __future__ import annotations

from styx.cost.ledger import COST_DDL
from styx.jobs.schema import MANAGED_JOBS_DDL, MANAGED_JOBS_OWNER_DDL
from styx.storage.ddl import STORAGE_DDL

MIGRATIONS: list[str] = [
    # v1
    """
    CREATE TABLE clusters (
        name TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        region TEXT,
        zone TEXT,
        status TEXT NOT NULL,
        num_nodes INTEGER NOT NULL,
        instance_type TEXT,
        use_spot INTEGER NOT NULL DEFAULT 0,
        hourly_price REAL,
        resources TEXT,
        task_yaml TEXT,
        setup_hash TEXT,
        autostop_minutes REAL,
        autostop_down INTEGER NOT NULL DEFAULT 0,
        owner TEXT,
        launched_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        cluster TEXT NOT NULL,
        provider TEXT NOT NULL,
        node_rank INTEGER NOT NULL,
        data TEXT NOT NULL,
        host_key TEXT,
        updated_at REAL NOT NULL
    );
    CREATE INDEX instances_by_cluster ON instances(cluster);
    CREATE TABLE jobs (
        cluster TEXT NOT NULL,
        job_id INTEGER NOT NULL,
        name TEXT,
        status TEXT NOT NULL,
        submitted_at REAL,
        ended_at REAL,
        exit_code INTEGER,
        PRIMARY KEY (cluster, job_id)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        cluster TEXT,
        kind TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        acquired_at REAL NOT NULL
    );
    CREATE TABLE blocked_offers (
        key TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        region TEXT,
        zone TEXT,
        instance_type TEXT,
        scope TEXT NOT NULL,
        error_class TEXT NOT NULL,
        native_code TEXT,
        reason TEXT,
        expires_at REAL NOT NULL
    );
    CREATE TABLE launch_intents (
        instance_id TEXT PRIMARY KEY,
        cluster TEXT NOT NULL,
        provider TEXT NOT NULL,
        region TEXT,
        zone TEXT,
        instance_type TEXT,
        created_at REAL NOT NULL
    );
    """,
    # v2: the block list keeps typed keys, one column per field ('' = every value), instead of
    # one string key split apart again. Old rows are failures of the last hour: dropped.
    """
    DROP TABLE blocked_offers;
    CREATE TABLE blocks (
        provider TEXT NOT NULL,
        scope TEXT NOT NULL,
        region TEXT NOT NULL DEFAULT '',
        zone TEXT NOT NULL DEFAULT '',
        instance_type TEXT NOT NULL DEFAULT '',
        family TEXT NOT NULL DEFAULT '',
        error_class TEXT NOT NULL,
        native_code TEXT,
        reason TEXT,
        expires_at REAL NOT NULL,
        PRIMARY KEY (provider, scope, region, zone, instance_type, family)
    );
    """,
    # v3 (cost): usage periods at the catalog price, spending caps, the heads' autostop reports.
    COST_DDL,
    # v4 (storage): buckets Styx created and mounts live on clusters
    STORAGE_DDL,
    # v5 (jobs): managed jobs (styx.jobs.store)
    MANAGED_JOBS_DDL,
    # v6 (jobs): the owner of each managed job (the API server shows users their own)
    MANAGED_JOBS_OWNER_DDL,
]
