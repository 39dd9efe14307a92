"""The SDK's calls sent to the API server: the same signatures and return types as
:mod:`styx.sdk`, which routes here when an endpoint is configured."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from styx.core.launch import LaunchResult
from styx.core.lifecycle import LaunchOptions
from styx.core.printer import Printer
from styx.state.store import ClusterRecord, ClusterStatus
from styx.task import Task

if TYPE_CHECKING:  # urllib and ssl are imported only when a server is configured
    from styx.client.remote import RemoteClient


def _task(task: Task) -> dict[str, Any]:
    """The task without its files (callers that send files use :func:`task_args`)."""
    return task.to_yaml(redact_secrets=False)


def task_args(client: RemoteClient, task: Task) -> dict[str, Any]:
    """``{"task": ...}``, with ``"upload"`` naming the task's files when it has local ones."""
    from styx.client.uploads import task_args as with_files

    return with_files(client, task)


class RemoteSdk:
    def __init__(self, client: RemoteClient) -> None:
        self.client = client

    def launch(
        self, task: Task, cluster_name: str | None, opts: LaunchOptions, printer: Printer
    ) -> LaunchResult:
        args = {
            **task_args(self.client, task),
            "cluster": cluster_name,
            "options": dataclasses.asdict(opts),
        }
        return LaunchResult(**self.client.run("launch", args, printer))

    def exec(
        self,
        task: Task,
        cluster_name: str,
        detach_run: bool,
        printer: Printer,
        sync_workdir: bool = False,
    ) -> LaunchResult:
        # Without --sync-workdir exec copies no file: none is sent.
        files = task_args(self.client, task) if sync_workdir else {"task": _task(task)}
        args = {
            **files,
            "cluster": cluster_name,
            "detach_run": detach_run,
            "sync_workdir": sync_workdir,
        }
        return LaunchResult(**self.client.run("exec", args, printer))

    def status(
        self, refresh: bool, cluster_names: list[str] | None, all_users: bool = False
    ) -> list[ClusterRecord]:
        if refresh:  # asks the clouds: a background request, streamed like the others
            args = {"refresh": True, "clusters": cluster_names, "all_users": all_users}
            rows = self.client.run("status", args, Printer.silent())
        else:  # the state store only: one read, no request record
            from urllib.parse import urlencode

            query = urlencode(
                {"name": cluster_names or [], **({"all_users": "1"} if all_users else {})},
                doseq=True,
            )
            rows = self.client.call("GET", "/api/clusters" + (f"?{query}" if query else ""))
        fields = {f.name for f in dataclasses.fields(ClusterRecord)}
        records = []
        for d in rows:
            record = ClusterRecord(**{k: v for k, v in d.items() if k in fields})
            record.status = ClusterStatus(record.status)
            records.append(record)
        return records

    def cluster_verb(self, verb: str, cluster_name: str, **args: Any) -> Any:
        return self.client.run(verb, {"cluster": cluster_name, **args}, Printer.silent())

    def logs(self, cluster_name: str, job_id: int | None, follow: bool, printer: Printer) -> Any:
        args = {"cluster": cluster_name, "job_id": job_id, "follow": follow}
        return self.client.run("logs", args, printer)


def remote_sdk() -> RemoteSdk | None:
    """The API server's SDK when one is configured, else None (run in-process)."""
    from styx.client.settings import configured

    settings = configured()
    if settings is None:
        return None
    from styx.client.remote import RemoteClient

    return RemoteSdk(RemoteClient(settings))
