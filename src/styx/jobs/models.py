"""Typed values of managed jobs: the status, one job's record, and its recovery policy."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Any

from styx.resources import JobRecovery


class ManagedJobStatus(enum.StrEnum):
    PENDING = "PENDING"  # waiting for a launch slot, or for the previous pipeline stage
    STARTING = "STARTING"  # its first cluster is being launched
    RUNNING = "RUNNING"
    RECOVERING = "RECOVERING"  # a node was lost (or the job is rerun): relaunching
    CANCELLING = "CANCELLING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # the user's code failed (restarts used up)
    FAILED_SETUP = "FAILED_SETUP"
    FAILED_NO_RESOURCE = "FAILED_NO_RESOURCE"
    FAILED_CONTROLLER = "FAILED_CONTROLLER"
    CANCELLED = "CANCELLED"

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {
        ManagedJobStatus.SUCCEEDED,
        ManagedJobStatus.FAILED,
        ManagedJobStatus.FAILED_SETUP,
        ManagedJobStatus.FAILED_NO_RESOURCE,
        ManagedJobStatus.FAILED_CONTROLLER,
        ManagedJobStatus.CANCELLED,
    }
)


class Strategy(enum.StrEnum):
    FAILOVER = "FAILOVER"  # the lost cluster's region first, then anywhere
    EAGER_NEXT_REGION = "EAGER_NEXT_REGION"  # anywhere but the lost cluster's region first


@dataclass(frozen=True)
class RecoveryPolicy:
    strategy: Strategy = Strategy.FAILOVER
    max_restarts_on_errors: int = 0
    recover_on_exit_codes: frozenset[int] = frozenset()

    @classmethod
    def from_resources(cls, recovery: JobRecovery | None) -> RecoveryPolicy:
        if recovery is None:
            return cls()
        try:
            strategy = Strategy(recovery.strategy.upper())
        except ValueError:
            strategy = Strategy.FAILOVER  # the parser already refused names it does not know
        return cls(
            strategy,
            recovery.max_restarts_on_errors,
            frozenset(recovery.recover_on_exit_codes),
        )


@dataclass
class ManagedJob:
    """One managed job as the state store keeps it (a pipeline stage is one job)."""

    job_id: int
    name: str | None
    status: ManagedJobStatus
    task_yaml: dict[str, Any]
    task_id: str
    submitted_at: float
    base_dir: str | None = None
    retry_until_up: bool = False
    pipeline: str | None = None
    pipeline_id: int | None = None
    stage: int | None = None
    num_stages: int | None = None
    recovery_count: int = 0
    restarts_on_errors: int = 0
    cluster: str | None = None
    infra: str | None = None
    agent_job_id: int | None = None
    cancel_requested: bool = False
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    failure_reason: str | None = None
    updated_at: float = 0.0
    owner: str | None = None  # who submitted it (the API user through a server)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ManagedJob:
        import json

        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in row.items() if k in names}
        data["status"] = ManagedJobStatus(data["status"])
        data["task_yaml"] = json.loads(data["task_yaml"])
        data["retry_until_up"] = bool(data["retry_until_up"])
        data["cancel_requested"] = bool(data["cancel_requested"])
        return cls(**data)

    def to_public(self) -> dict[str, Any]:
        """The fields `styx jobs queue --json` shows, as the issue names them."""
        out: dict[str, Any] = {
            "job_id": self.job_id,
            "name": self.name,
            "status": self.status.value,
            "recovery_count": self.recovery_count,
            "cluster": self.cluster,
            "infra": self.infra,
            "submitted_at": self.submitted_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "failure_reason": self.failure_reason,
            "owner": self.owner,
        }
        if self.pipeline_id is not None:
            out["pipeline"] = self.pipeline
            out["pipeline_id"] = self.pipeline_id
            out["stage"] = self.stage
            out["num_stages"] = self.num_stages
        return out
