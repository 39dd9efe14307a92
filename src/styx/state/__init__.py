"""The client's state: one SQLite file at $STYX_HOME/state.db."""

from styx.state.store import ClusterRecord, ClusterStatus, JobRecord, StateStore, open_store

__all__ = ["ClusterRecord", "ClusterStatus", "JobRecord", "StateStore", "open_store"]
