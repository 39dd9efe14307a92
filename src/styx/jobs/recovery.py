"""Recovery decisions: what a job's end or a node's loss leads to, and where to relaunch.

Pure functions of typed values, so every rule is unit-tested without a cloud.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from styx.agent.protocol import JobInfo, JobStatus
from styx.jobs.models import ManagedJobStatus, RecoveryPolicy, Strategy
from styx.providers.instance import Instance, InstanceState


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


def loss_reason(
    saved: list[Instance],
    current: dict[str, Instance],
    unknown_since: dict[str, float],
    now: float,
    grace_s: float,
) -> str | None:
    """Why a cluster can no longer run its job, from one provider listing (``current``: the
    cluster's instances by id), or None.

    A node not listed, terminated, stopped or pending again (a spot interruption, an eviction,
    a deleted pod) is lost at once. A node the provider cannot tell about (ERROR: an SSH host that
    does not answer) is lost once it has stayed so ``grace_s``; ``unknown_since`` remembers when
    each was first seen so, between calls.
    """
    for inst in sorted(saved, key=lambda i: i.node_rank):
        listed = current.get(inst.id)
        if listed is None:
            return f"node {inst.node_rank} is gone"
        why = f" ({listed.state_reason})" if listed.state_reason else ""
        if listed.state is InstanceState.ERROR:
            since = unknown_since.setdefault(inst.id, now)
            if now - since >= grace_s:
                return f"node {inst.node_rank} has been unreachable for {now - since:.0f}s{why}"
            continue
        unknown_since.pop(inst.id, None)
        if listed.state is not InstanceState.RUNNING:
            return f"node {inst.node_rank} is {listed.state.value}{why}"
    return None
