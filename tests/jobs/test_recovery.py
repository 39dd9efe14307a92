"""Recovery decisions and the managed-jobs store, without any cluster."""

from __future__ import annotations

import pytest

from styx.agent.protocol import JobInfo, JobStatus
from styx.jobs.models import ManagedJobStatus, RecoveryPolicy, Strategy
from styx.jobs.recovery import Action, loss_reason, on_job_end, on_node_loss, relaunch_plan
from styx.providers.instance import Instance, InstanceId, InstanceState, ProviderType
from styx.resources import JobRecovery


def _ended(status: JobStatus, code: int | None = None) -> JobInfo:
    return JobInfo(job_id=1, name=None, status=status, submitted_at=0.0, exit_code=code)


def test_success_and_setup_failure_are_final() -> None:
    policy = RecoveryPolicy(max_restarts_on_errors=5)
    ok = on_job_end(_ended(JobStatus.SUCCEEDED, 0), policy, 0)
    assert (ok.action, ok.status) == (Action.FINISH, ManagedJobStatus.SUCCEEDED)
    setup = on_job_end(_ended(JobStatus.FAILED_SETUP, 2), policy, 0)
    assert (setup.action, setup.status) == (Action.FINISH, ManagedJobStatus.FAILED_SETUP)


def test_user_failure_restarts_until_max_restarts_on_errors() -> None:
    policy = RecoveryPolicy(max_restarts_on_errors=1)
    first = on_job_end(_ended(JobStatus.FAILED, 3), policy, 0)
    assert first.action is Action.RESTART and first.counts_as_error
    second = on_job_end(_ended(JobStatus.FAILED, 3), policy, 1)
    assert (second.action, second.status, second.exit_code) == (
        Action.FINISH,
        ManagedJobStatus.FAILED,
        3,
    )
    assert "exit code 3" in (second.reason or "")


def test_recover_on_exit_codes_always_reruns_without_using_a_restart() -> None:
    policy = RecoveryPolicy(recover_on_exit_codes=frozenset({33}))
    decision = on_job_end(_ended(JobStatus.FAILED, 33), policy, 10)
    assert decision.action is Action.RESTART and not decision.counts_as_error
    other = on_job_end(_ended(JobStatus.FAILED, 34), policy, 0)
    assert other.status is ManagedJobStatus.FAILED


def test_node_loss_is_a_recovery_never_a_user_error() -> None:
    decision = on_node_loss("node 1 is terminated (Server.SpotInstanceTermination)")
    assert decision.action is Action.RECOVER and not decision.counts_as_error


def test_policy_from_the_task_file_and_where_to_relaunch() -> None:
    assert RecoveryPolicy.from_resources(None) == RecoveryPolicy()
    policy = RecoveryPolicy.from_resources(JobRecovery("EAGER_NEXT_REGION", 2, (7,)))
    assert policy == RecoveryPolicy(Strategy.EAGER_NEXT_REGION, 2, frozenset({7}))
    assert relaunch_plan(policy, "aws", "us-east-1").avoid == ("aws", "us-east-1")
    failover = relaunch_plan(RecoveryPolicy(), "aws", "us-east-1")
    assert failover.pin == ("aws", "us-east-1") and failover.avoid is None
    assert relaunch_plan(RecoveryPolicy(), None, None).pin is None


def test_store_round_trip_cancel_and_pipeline_ids() -> None:
    from styx.jobs.store import JobStore
    from styx.state.store import open_store

    jobs = JobStore(open_store())
    single = jobs.add({"run": "echo"}, name="one", base_dir=None)
    first = jobs.add({"run": "a"}, name="p-1", base_dir=None, pipeline="p", stage=0, num_stages=2)
    second = jobs.add(
        {"run": "b"}, name="p-2", base_dir=None, pipeline="p", pipeline_id=first, stage=1,
        num_stages=2,
    )  # fmt: skip
    job = jobs.get(single)
    assert job is not None and job.status is ManagedJobStatus.PENDING
    assert job.task_yaml == {"run": "echo"} and job.task_id.endswith(f"_{single}")
    assert job.pipeline_id is None
    assert [s.job_id for s in jobs.stages(first)] == [first, second]
    jobs.finish(single, ManagedJobStatus.SUCCEEDED)
    assert jobs.request_cancel([single, first]) == [first]  # a final job is not marked
    assert [j.job_id for j in jobs.active()] == [first, second]
    public = jobs.get(second).to_public()  # type: ignore[union-attr]
    assert set(public) >= {
        "job_id", "name", "status", "recovery_count", "cluster", "infra", "submitted_at",
        "started_at", "ended_at", "failure_reason",
    }  # fmt: skip
    assert (public["pipeline"], public["stage"]) == ("p", 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs: {watch_interval_s: 60}", "jobs.watch_interval_s"),
        ("jobs: {max_concurrent_launches: 0}", "jobs.max_concurrent_launches"),
        ("jobs: {bogus: 1}", "jobs.bogus"),
        ("jobs: {idle_exit_s: .nan}", "jobs.idle_exit_s"),
    ],
)
def test_settings_are_bounded(styx_home, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    from styx.errors import StyxError
    from styx.jobs.settings import jobs_settings

    (styx_home / "config.yaml").write_text(text + "\n")
    with pytest.raises(StyxError, match=message):
        jobs_settings()


def _node(rank: int, state: str, reason: str | None = None) -> Instance:
    return Instance(
        id=InstanceId(f"i{rank}"), provider=ProviderType("aws"), cluster_name="c",
        instance_type="m5.large", state=InstanceState(state), node_rank=rank, state_reason=reason,
    )  # fmt: skip


def test_loss_of_any_node_of_the_gang_is_seen_in_one_listing() -> None:
    saved = [_node(0, "running"), _node(1, "running")]
    healthy = {n.id: n for n in saved}
    assert loss_reason(saved, healthy, {}, 0.0, 60) is None
    interrupted = {**healthy, "i1": _node(1, "terminated", "Server.SpotInstanceTermination")}
    assert loss_reason(saved, interrupted, {}, 0.0, 60) == (
        "node 1 is terminated (Server.SpotInstanceTermination)"
    )
    assert loss_reason(saved, {"i0": saved[0]}, {}, 0.0, 60) == "node 1 is gone"
    stopped = {**healthy, "i0": _node(0, "stopped", "Instance was preempted.")}
    assert "node 0 is stopped" in (loss_reason(saved, stopped, {}, 0.0, 60) or "")


def test_an_unreachable_node_is_lost_only_after_the_grace_period() -> None:
    saved = [_node(0, "running")]
    unknown: dict[str, float] = {}
    down = {"i0": _node(0, "error", "unreachable: timed out")}
    assert loss_reason(saved, down, unknown, 100.0, 60) is None
    assert loss_reason(saved, down, unknown, 150.0, 60) is None
    assert loss_reason(saved, {"i0": saved[0]}, unknown, 155.0, 60) is None  # answered again
    assert unknown == {}
    assert loss_reason(saved, down, unknown, 200.0, 60) is None
    reason = loss_reason(saved, down, unknown, 260.0, 60)
    assert reason is not None and "unreachable for 60s" in reason
