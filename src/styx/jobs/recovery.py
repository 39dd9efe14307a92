"""Recovery decisions: what a job's end or a node's loss leads to, and where to relaunch.

Pure functions of typed values, so every rule is unit-tested without a cloud.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from styx.agent.protocol import JobInfo, JobStatus
from styx.jobs.models import ManagedJobStatus, RecoveryPolicy, Strategy


class Action(enum.Enum):
    FINISH = "finish"  # the job reached a final status
    RESTART = "restart"  # rerun the job (the user's code failed, a restart is allowed)
    RECOVER = "recover"  # the cluster lost a node: relaunch the whole gang and rerun


@dataclass(frozen=True)
class Decision:
    action: Action
    status: ManagedJobStatus | None = None  # the final status, for FINISH
    reason: str | None = None
    exit_code: int | None = None
    counts_as_error: bool = False  # a RESTART that uses up one of max_restarts_on_errors


def on_job_end(job: JobInfo, policy: RecoveryPolicy, restarts_used: int) -> Decision:
    """The decision when the agent reports the job ended while every node is still alive.

    (A preemption is decided by :func:`on_node_loss` before this is asked: it never counts as
    a user error.)
    """
    code = job.exit_code
    if job.status is JobStatus.SUCCEEDED:
        return Decision(Action.FINISH, ManagedJobStatus.SUCCEEDED, exit_code=0)
    if job.status is JobStatus.CANCELLED:
        return Decision(Action.FINISH, ManagedJobStatus.CANCELLED, "cancelled on the cluster")
    if job.status is JobStatus.FAILED_SETUP:
        detail = f": {job.message}" if job.message else ""
        return Decision(
            Action.FINISH, ManagedJobStatus.FAILED_SETUP, f"setup failed{detail}", exit_code=code
        )
    detail = f"exit code {code}" if code is not None else (job.message or "failed")
    if code is not None and code in policy.recover_on_exit_codes:
        # Listed codes are the user saying "this is not my bug" (e.g. an NCCL hang): always rerun.
        return Decision(Action.RESTART, reason=f"{detail} is in recover_on_exit_codes")
    if restarts_used < policy.max_restarts_on_errors:
        return Decision(
            Action.RESTART,
            reason=f"{detail}; restart {restarts_used + 1}/{policy.max_restarts_on_errors}",
            counts_as_error=True,
        )
    return Decision(Action.FINISH, ManagedJobStatus.FAILED, f"job failed: {detail}", exit_code=code)


def on_node_loss(reason: str) -> Decision:
    return Decision(Action.RECOVER, reason=reason)


@dataclass(frozen=True)
class RelaunchPlan:
    """Where to try first after a loss: pinned to (cloud, region), or avoiding that region."""

    pin: tuple[str, str] | None = None
    avoid: tuple[str, str] | None = None


def relaunch_plan(policy: RecoveryPolicy, cloud: str | None, region: str | None) -> RelaunchPlan:
    if not cloud or not region:
        return RelaunchPlan()
    if policy.strategy is Strategy.EAGER_NEXT_REGION:
        return RelaunchPlan(avoid=(cloud, region))
    return RelaunchPlan(pin=(cloud, region))
