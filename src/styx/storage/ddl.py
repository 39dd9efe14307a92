"""The storage tables (one entry of ``state.schema.MIGRATIONS``); no imports, so that the
schema can load it without loading the storage package's other modules."""

STORAGE_DDL = """
CREATE TABLE storage_buckets (
    url TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    store TEXT NOT NULL,
    account TEXT,
    region TEXT,
    persistent INTEGER NOT NULL,
    cluster TEXT,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE storage_mounts (
    cluster TEXT NOT NULL,
    target TEXT NOT NULL,
    url TEXT NOT NULL,
    mode TEXT NOT NULL,
    PRIMARY KEY (cluster, target)
);
"""
