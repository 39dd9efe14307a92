"""Managed jobs, storage, cost-report and check sent to the API server.

The same calls (and return types) as the in-process code the CLI uses, so that the CLI prints
the same table and the same ``--json`` either way: :class:`RemoteOps` has the shapes of
:mod:`styx.jobs.api` (submit, queue, stream_log, cancel), :mod:`styx.storage.manage`
(list_buckets, delete), :func:`styx.cost.report.build_report` and
:func:`styx.cloud_check.check_clouds`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from styx.core.printer import Printer

if TYPE_CHECKING:
    from styx.client.remote import RemoteClient
    from styx.cloud_check import CloudCheck
    from styx.cost.report import CostReport
    from styx.jobs.models import ManagedJob
    from styx.storage.state import BucketRecord
    from styx.task import Task


def _ignore(_text: str) -> None:
    pass


def _job(data: dict[str, Any]) -> ManagedJob:
    from styx.jobs.models import ManagedJob, ManagedJobStatus

    names = {f.name for f in dataclasses.fields(ManagedJob)}
    fields = {k: v for k, v in data.items() if k in names}
    fields.update(status=ManagedJobStatus(data["status"]), task_yaml={})
    return ManagedJob(**fields)


def _bucket(data: dict[str, Any]) -> BucketRecord:
    from styx.storage.spec import StoreKind
    from styx.storage.state import BucketRecord

    names = {f.name for f in dataclasses.fields(BucketRecord)}
    fields = {k: v for k, v in data.items() if k in names}
    fields["store"] = StoreKind(data["store"])
    return BucketRecord(**fields)


class RemoteOps:
    def __init__(self, client: RemoteClient) -> None:
        self.client = client

    def _run(self, verb: str, args: dict[str, Any], printer: Printer | None = None) -> Any:
        return self.client.run(verb, args, printer or Printer.silent())

    # ---- managed jobs ------------------------------------------------------------------------

    def submit(
        self, stages: list[Task], pipeline: str | None = None, retry_until_up: bool = False
    ) -> list[int]:
        from styx.client.uploads import stages_args

        args = {
            **stages_args(self.client, stages),  # with their workdir and local file mounts
            "pipeline": pipeline,
            "retry_until_up": retry_until_up,
        }
        return [int(j) for j in self._run("jobs_launch", args)]

    def queue(self, include_all: bool = False, all_users: bool = False) -> list[ManagedJob]:
        args = {"all": include_all, "all_users": all_users}
        return [_job(d) for d in self._run("jobs_queue", args)]

    def stream_log(
        self, job_id: int, follow: bool, on_output: Callable[[str], None], all_users: bool = False
    ) -> ManagedJob:
        args = {"job_id": job_id, "follow": follow, "all_users": all_users}
        return _job(self._run("jobs_logs", args, Printer(on_output, _ignore)))

    def cancel(
        self, job_ids: list[int], all_jobs: bool = False, all_users: bool = False
    ) -> tuple[list[int], list[int]]:
        args = {"job_ids": job_ids, "all": all_jobs, "all_users": all_users}
        result = self._run("jobs_cancel", args)
        return list(result["marked"]), list(result["done"])

    # ---- storage, cost, check ----------------------------------------------------------------

    def list_buckets(self, all_users: bool = False) -> list[BucketRecord]:
        return [_bucket(d) for d in self._run("storage_ls", {"all_users": all_users})]

    def delete_bucket(self, name: str, all_users: bool = False) -> BucketRecord:
        return _bucket(self._run("storage_delete", {"name": name, "all_users": all_users}))

    def cost_report(self, days: float, all_users: bool = False) -> CostReport:
        from styx.cost.report import ClusterCost, CostReport, UsageLine

        data = self._run("cost_report", {"days": days, "all_users": all_users})
        clusters = []
        for c in data["clusters"]:
            usage = [UsageLine(**u) for u in c["usage"]]
            clusters.append(ClusterCost(**{**c, "usage": usage}))
        return CostReport(**{**data, "clusters": clusters})

    def check(self, clouds: list[str]) -> list[CloudCheck]:
        from styx.cloud_check import CloudCheck

        return [CloudCheck(**d) for d in self._run("check", {"clouds": clouds})]


def remote_ops() -> RemoteOps | None:
    """The API server's operations when one is configured, else None (run in-process)."""
    from styx.client.settings import configured

    settings = configured()
    if settings is None:
        return None
    from styx.client.remote import RemoteClient

    return RemoteOps(RemoteClient(settings))


def remote_ops_for(all_users: bool) -> RemoteOps | None:
    """:func:`remote_ops`; ``--all-users`` means something only to a server."""
    remote = remote_ops()
    if remote is None and all_users:
        from styx.errors import StyxError

        raise StyxError("--all-users needs an API server (styx api login)")
    return remote
