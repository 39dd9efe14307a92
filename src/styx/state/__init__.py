"""The client's state: one SQLite file at $STYX_HOME/state.db, or the PostgreSQL database of
``STYX_DB_URL`` (shared by API-server replicas and by a team's CLIs)."""

from styx.state.store import ClusterRecord, ClusterStatus, JobRecord, StateStore, open_store

__all__ = ["ClusterRecord", "ClusterStatus", "JobRecord", "StateStore", "open_store"]
