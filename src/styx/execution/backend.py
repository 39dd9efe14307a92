"""Operations on an up cluster: runners per node, runtime set-up, file sync, jobs via the agent."""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Callable
from typing import Any

from styx.agent.protocol import (
    MARK_FINISHED,
    MARK_SUBMITTED,
    AgentFailure,
    CancelResult,
    ClusterInfo,
    ErrorCode,
    JobInfo,
    JobSpec,
    Submitted,
    dumps,
    parse_error_line,
)
from styx.errors import ClusterError, JobError, StyxError
from styx.execution.runner import CommandRunner
from styx.providers.access import ClusterAccess, NodeAccess
from styx.providers.instance import Instance
from styx.state.store import ClusterRecord
from styx.task import GitWorkdir, Task

RUNTIME_ROOT = '"$HOME/.styx_runtime"'
REMOTE_WORKDIR = "~/sky_workdir"  # SkyPilot's name, so existing scripts find their files


async def cluster_access(record: ClusterRecord, instances: list[Instance]) -> ClusterAccess:
    """How to reach the cluster's nodes, as its provider says (``CloudProvider.cluster_access``)."""
    from styx.placement import provider_factory
    from styx.providers.registry import cluster_access as provider_cluster_access

    return await provider_cluster_access(
        record.provider, record.name, instances, provider_factory()
    )


NO_RUNTIME = 127  # the shell's "command not found": the head's runtime is gone


class ClusterBackend:
    def __init__(self, record: ClusterRecord, access: ClusterAccess, python: str) -> None:
        self.record = record
        self.access = access
        self.nodes: list[NodeAccess] = access.nodes
        self.head = access.head.runner
        self.agent = f"{python} -m styx.agent --root {RUNTIME_ROOT}"

    @classmethod
    async def connect(cls, record: ClusterRecord, instances: list[Instance]) -> ClusterBackend:
        if not instances:
            raise ClusterError(f"cluster '{record.name}' has no nodes", cluster=record.name)
        access = await cluster_access(record, instances)
        try:
            python = await access.agent_python()
        except BaseException:
            await access.close()
            raise
        return cls(record, access, python)

    async def close(self) -> None:
        await self.access.close()

    async def _agent(self, args: str, stdin: bytes | None = None) -> Any:
        """Run an agent command that answers with one JSON document; return it parsed."""
        lines: list[str] = []
        code = await self._run_agent(args, lines.append, stdin)
        output = "".join(lines)
        if code != 0:
            tail = output.strip().splitlines()[-1:] or ["no output"]
            raise ClusterError(
                f"{self.head.label}: agent '{args.split()[0]}' exited with {code}: {tail[0]}",
                cluster=self.record.name,
            )
        return json.loads(output.strip().splitlines()[-1])

    async def _run_agent(
        self, args: str, on_output: Callable[[str], None], stdin: bytes | None = None
    ) -> int:
        """Run an agent command; if the head has lost its runtime, reinstall and retry once.

        A refusal from the agent (its error line) is raised as the matching Styx error.
        """
        failures: list[AgentFailure] = []

        def route(line: str) -> None:
            failure = parse_error_line(line)
            if failure is None:
                on_output(line)
            else:
                failures.append(failure)

        code = await self.head.run(f"{self.agent} {args}", on_output=route, stdin=stdin)
        if code == NO_RUNTIME and self.access.installs_runtime:
            python = await self.access.agent_python(force=True)
            self.agent = f"{python} -m styx.agent --root {RUNTIME_ROOT}"
            code = await self.head.run(f"{self.agent} {args}", on_output=route, stdin=stdin)
        if failures:
            raise self._error(failures[0])
        return code

    def _error(self, failure: AgentFailure) -> StyxError:
        """The Styx error for an agent's refusal, named by its error code."""
        name = self.record.name
        job_id = failure.job_ids[0] if failure.job_ids else None
        if failure.code is ErrorCode.NO_SUCH_JOB:
            ids = ", ".join(map(str, failure.job_ids)) or "?"
            return JobError(f"cluster '{name}' has no job {ids}", cluster=name, job_id=job_id)
        if failure.code is ErrorCode.NO_JOBS_YET:
            return JobError(f"cluster '{name}' has no job yet", cluster=name)
        what = "refused the request" if failure.code is ErrorCode.BAD_REQUEST else "failed"
        return ClusterError(
            f"{self.head.label}: the agent of cluster '{name}' {what}: {failure.message}",
            cluster=name,
        )

    # ---- set-up ------------------------------------------------------------------------------

    async def setup_runtime(self, provider_config: dict[str, Any] | None = None) -> None:
        """Tell the head about its cluster and start its autostop daemon (idempotent)."""
        from styx.config import autostop_check_interval_s

        if provider_config is None:
            from styx.cost.headconfig import head_provider_config

            provider_config = head_provider_config(self.record)
        info = {
            "cluster_name": self.record.name,
            "provider": self.record.provider,
            "instance_ids": [n.instance.id for n in self.nodes],
            "provider_config": provider_config or {},
        }
        write = (
            f"umask 077 && mkdir -p {RUNTIME_ROOT} && cat > {RUNTIME_ROOT}/cluster.json && "
            f"(setsid nohup {self.agent} daemon --interval {autostop_check_interval_s():g} "
            ">/dev/null 2>&1 < /dev/null &)"
        )
        await self.head.check_output(write, stdin=json.dumps(info).encode())

    async def setup_containers(self, task: Task) -> None:
        """``image_id: docker:<image>``: make (or start again) each node's container, after the
        files are synced (file mounts are bound into it). Nothing for other clusters."""
        from styx.container.setup import start_containers

        await start_containers(self.record, self.nodes, task)

    async def sync_files(self, task: Task) -> None:
        """workdir -> ~/sky_workdir and local file_mounts, on every node in parallel."""
        jobs = []
        for node in self.nodes:
            if isinstance(task.workdir, str):
                jobs.append(node.runner.put(task.resolve_path(task.workdir), REMOTE_WORKDIR))
            elif isinstance(task.workdir, GitWorkdir):
                jobs.append(_clone(node.runner, task.workdir))
            for remote, local in task.file_mounts.items():
                jobs.append(node.runner.put(task.resolve_path(local), remote))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    # ---- jobs --------------------------------------------------------------------------------

    def job_spec(self, task: Task, with_setup: bool, num_gpus_per_node: int) -> JobSpec:
        from styx.container.setup import with_containers

        inst = self.nodes[0].instance
        run = task.run
        if run:
            from styx.storage.mounts import needs_flush

            if needs_flush(task, self.record.name):
                from styx.storage.rclone import wrap_run

                run = wrap_run(run)  # the job ends once its writes to mounted buckets are saved
        return JobSpec(
            name=task.name,
            run=run,
            setup=task.setup if with_setup else None,
            envs=dict(task.envs),
            secrets=dict(task.secrets),
            workdir=REMOTE_WORKDIR if task.workdir is not None else None,
            nodes=tuple(with_containers(self.record, self.nodes)),
            num_gpus_per_node=num_gpus_per_node,
            cluster_name=self.record.name,
            cluster_info=ClusterInfo(
                self.record.name, self.record.provider, inst.region, inst.zone
            ),
        )

    async def submit(self, spec: JobSpec) -> int:
        result = await self._agent("submit", stdin=dumps(spec).encode())
        return Submitted.from_dict(result).job_id

    async def run_and_follow(
        self,
        spec: JobSpec,
        on_output: Callable[[str], None],
        on_submitted: Callable[[int], None] | None = None,
    ) -> JobInfo:
        """Submit ``spec`` and stream its output until it ends, in one agent call."""
        return await self._streamed("run", on_output, on_submitted, dumps(spec).encode())

    async def follow(self, job_id: int, on_output: Callable[[str], None]) -> JobInfo:
        """Stream a submitted job's output until it ends; return its record. One agent call."""
        return await self._streamed(
            f"logs {job_id} --follow --report", on_output, None, None, job_id
        )

    async def _streamed(
        self,
        args: str,
        on_output: Callable[[str], None],
        on_submitted: Callable[[int], None] | None,
        stdin: bytes | None,
        job_id: int | None = None,
    ) -> JobInfo:
        """Run an agent command whose output is a job's log between the protocol markers.

        If the connection drops before the end marker, the job goes on on the cluster and
        JobError says how to find it again.
        """
        submitted: list[int] = [] if job_id is None else [job_id]
        finished: list[JobInfo] = []

        def route(line: str) -> None:
            if line.startswith(MARK_SUBMITTED):
                submitted.append(
                    Submitted.from_dict(json.loads(line[len(MARK_SUBMITTED) :])).job_id
                )
                if on_submitted is not None:
                    on_submitted(submitted[-1])
            elif line.startswith(MARK_FINISHED):
                finished.append(JobInfo.from_dict(json.loads(line[len(MARK_FINISHED) :])))
            else:
                on_output(line)

        code = await self._run_agent(args, route, stdin)
        if not finished:
            known = submitted[-1] if submitted else None
            where = f"job {known}" if known is not None else "the job"
            raise JobError(
                f"lost the connection to cluster '{self.record.name}' (exit {code}) while "
                f"following {where}; it keeps running: `styx logs {self.record.name}`",
                cluster=self.record.name,
                job_id=known,
            )
        return finished[0]

    async def stream_logs(
        self, job_id: int | None, follow: bool, on_output: Callable[[str], None]
    ) -> None:
        """Copy a job's log (the latest job's without ``job_id``); JobError if there is none."""
        target = "" if job_id is None else str(job_id)
        flag = " --follow" if follow else ""
        code = await self._run_agent(f"logs {target}{flag}", on_output)
        if code != 0:
            raise ClusterError(
                f"{self.head.label}: agent 'logs' exited with {code}", cluster=self.record.name
            )

    async def job(self, job_id: int | None = None) -> JobInfo:
        """One job's record (the latest job's without ``job_id``); JobError if there is none."""
        target = "" if job_id is None else str(job_id)
        return JobInfo.from_dict(await self._agent(f"status {target}"))

    async def queue(self) -> list[JobInfo]:
        return [JobInfo.from_dict(j) for j in await self._agent("queue")]

    async def cancel(self, job_ids: list[int], all_jobs: bool) -> CancelResult:
        args = "--all" if all_jobs else " ".join(str(j) for j in job_ids)
        return CancelResult.from_dict(await self._agent(f"cancel {args}"))

    async def set_autostop(self, minutes: float | None, down: bool) -> None:
        if minutes is None:
            await self._agent("autostop --cancel")
        else:
            await self._agent(f"autostop --idle-minutes {minutes}" + (" --down" if down else ""))

    async def set_cost_cap(
        self, max_total_cost: float | None, hourly_price: float, accrued: float, down: bool
    ) -> None:
        """Hand the head its spending cap; it counts on from ``accrued`` by its own clock."""
        if max_total_cost is None:
            await self._agent("cap --cancel")
            return
        await self._agent(
            f"cap --max-cost {max_total_cost!r} --hourly-price {hourly_price!r} "
            f"--accrued {accrued!r}" + (" --down" if down else "")
        )

    async def autostop_report(self) -> dict[str, Any]:
        """The head's autostop setting, cap and last note (why it could not act)."""
        result: dict[str, Any] = await self._agent("autostop_show")
        return result


async def _clone(runner: CommandRunner, git: GitWorkdir) -> None:
    ref = f" && git checkout -q {shlex.quote(git.ref)}" if git.ref else ""
    await runner.check_output(
        f"rm -rf {REMOTE_WORKDIR} && git clone -q {shlex.quote(git.url)} {REMOTE_WORKDIR}"
        f" && cd {REMOTE_WORKDIR}{ref}"
    )
