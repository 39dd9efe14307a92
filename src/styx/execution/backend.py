"""Operations on an up cluster: runners per node, runtime set-up, file sync, jobs via the agent."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from styx.errors import ClusterError, JobError
from styx.execution.runner import CommandRunner, LocalRunner
from styx.providers.instance import Instance
from styx.state.store import ClusterRecord
from styx.task import GitWorkdir, Task

RUNTIME_ROOT = '"$HOME/.styx_runtime"'
REMOTE_WORKDIR = "~/sky_workdir"  # SkyPilot's name, so existing scripts find their files


@dataclass
class NodeAccess:
    """How to run things on one node: its runner, and how the head's agent reaches it."""

    instance: Instance
    runner: CommandRunner
    agent_spec: dict[str, Any]


def _label(rank: int) -> str:
    return "head" if rank == 0 else f"worker{rank}"


async def node_access(record: ClusterRecord, instances: list[Instance]) -> list[NodeAccess]:
    """Runners for every node, ordered by rank. Remote kinds are imported only when needed."""
    if record.provider == "local":
        from styx.providers.local.provider import LocalProvider

        provider = LocalProvider()
        out = []
        for inst in instances:
            home = provider.home_dir(inst.id)
            runner = LocalRunner(home, inst.id, label=_label(inst.node_rank))
            spec = {
                "rank": inst.node_rank,
                "ip": inst.private_ip or "127.0.0.1",
                "kind": "local",
                "home": str(home),
                "instance_id": inst.id,
                "gpu_ids": provider.gpu_ids(inst.id),
            }
            out.append(NodeAccess(inst, runner, spec))
        return out
    if record.provider == "kubernetes":
        from styx.execution.kube import kube_node_access

        return await kube_node_access(record, instances)
    from styx.execution.remote import remote_node_access

    return await remote_node_access(record, instances)


async def agent_python(record: ClusterRecord, head: CommandRunner, force: bool = False) -> str:
    """The Python that runs the agent on the head (this interpreter for local clusters).

    ``force``: check the head's runtime again instead of trusting what the client remembers.
    """
    if record.provider == "local":
        return shlex.quote(sys.executable)
    if record.provider == "kubernetes":
        from styx.execution.kube import kube_agent_python

        return await kube_agent_python(record, head, force)
    from styx.execution.remote import remote_agent_python

    return await remote_agent_python(record, head, force)


NO_RUNTIME = 127  # the shell's "command not found": the head's runtime is gone


class ClusterBackend:
    def __init__(self, record: ClusterRecord, nodes: list[NodeAccess], python: str) -> None:
        self.record = record
        self.nodes = nodes
        self.head = nodes[0].runner
        self.agent = f"{python} -m styx.agent --root {RUNTIME_ROOT}"

    @classmethod
    async def connect(cls, record: ClusterRecord, instances: list[Instance]) -> ClusterBackend:
        if not instances:
            raise ClusterError(f"cluster '{record.name}' has no nodes", cluster=record.name)
        nodes = await node_access(record, instances)
        return cls(record, nodes, await agent_python(record, nodes[0].runner))

    async def close(self) -> None:
        await asyncio.gather(*(n.runner.close() for n in self.nodes), return_exceptions=True)

    async def _agent(self, args: str, stdin: bytes | None = None) -> Any:
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
        """Run an agent command; if the head has lost its runtime, reinstall and retry once."""
        code = await self.head.run(f"{self.agent} {args}", on_output=on_output, stdin=stdin)
        if code == NO_RUNTIME and self.record.provider != "local":
            python = await agent_python(self.record, self.head, force=True)
            self.agent = f"{python} -m styx.agent --root {RUNTIME_ROOT}"
            code = await self.head.run(f"{self.agent} {args}", on_output=on_output, stdin=stdin)
        return code

    # ---- set-up ------------------------------------------------------------------------------

    async def setup_runtime(self, provider_config: dict[str, Any] | None = None) -> None:
        """Tell the head about its cluster and start its autostop daemon (idempotent)."""
        from styx.config import autostop_check_interval_s

        info = {
            "cluster_name": self.record.name,
            "provider": self.record.provider,
            "instance_ids": [n.instance.id for n in self.nodes],
            "provider_config": provider_config or {},
        }
        write = (
            f"mkdir -p {RUNTIME_ROOT} && cat > {RUNTIME_ROOT}/cluster.json && "
            f"(setsid nohup {self.agent} daemon --interval {autostop_check_interval_s():g} "
            ">/dev/null 2>&1 < /dev/null &)"
        )
        await self.head.check_output(write, stdin=json.dumps(info).encode())

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

    def job_spec(self, task: Task, with_setup: bool, num_gpus_per_node: int) -> dict[str, Any]:
        inst = self.nodes[0].instance
        return {
            "name": task.name,
            "run": task.run,
            "setup": task.setup if with_setup else None,
            "envs": dict(task.envs),
            "secrets": dict(task.secrets),
            "workdir": REMOTE_WORKDIR if task.workdir is not None else None,
            "nodes": [n.agent_spec for n in self.nodes],
            "num_gpus_per_node": num_gpus_per_node,
            "cluster_name": self.record.name,
            "cluster_info": {
                "cluster_name": self.record.name,
                "cloud": self.record.provider,
                "region": inst.region,
                "zone": inst.zone,
            },
        }

    async def submit(self, spec: dict[str, Any]) -> int:
        result = await self._agent("submit", stdin=json.dumps(spec).encode())
        return int(result["job_id"])

    async def run_and_follow(
        self,
        spec: dict[str, Any],
        on_output: Callable[[str], None],
        on_submitted: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Submit ``spec`` and stream its output until it ends, in one agent call."""
        return await self._streamed("run", on_output, on_submitted, json.dumps(spec).encode())

    async def follow(self, job_id: int, on_output: Callable[[str], None]) -> dict[str, Any]:
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
    ) -> dict[str, Any]:
        """Run an agent command whose output is a job's log between the protocol markers.

        If the connection drops before the end marker, the job goes on on the cluster and
        JobError says how to find it again.
        """
        from styx.agent.protocol import MARK_FINISHED, MARK_SUBMITTED

        state: dict[str, Any] = {"job_id": job_id}

        def route(line: str) -> None:
            if line.startswith(MARK_SUBMITTED):
                state["job_id"] = int(json.loads(line[len(MARK_SUBMITTED) :])["job_id"])
                if on_submitted is not None:
                    on_submitted(state["job_id"])
            elif line.startswith(MARK_FINISHED):
                state["job"] = json.loads(line[len(MARK_FINISHED) :])
            else:
                on_output(line)

        code = await self._run_agent(args, route, stdin)
        job: dict[str, Any] | None = state.get("job")
        if job is None:
            where = f"job {state['job_id']}" if state["job_id"] is not None else "the job"
            raise JobError(
                f"lost the connection to cluster '{self.record.name}' (exit {code}) while "
                f"following {where}; it keeps running: `styx logs {self.record.name}`",
                cluster=self.record.name,
                job_id=state["job_id"],
            )
        return job

    async def stream_logs(
        self, job_id: int | None, follow: bool, on_output: Callable[[str], None]
    ) -> None:
        target = "" if job_id is None else str(job_id)
        flag = " --follow" if follow else ""
        code = await self._run_agent(f"logs {target}{flag}", on_output)
        if code == 3:
            raise JobError(
                f"cluster '{self.record.name}' has no job {target or 'yet'}",
                cluster=self.record.name,
                job_id=job_id,
            )

    async def job(self, job_id: int | None = None) -> dict[str, Any] | None:
        target = "" if job_id is None else str(job_id)
        lines: list[str] = []
        await self._run_agent(f"status {target}", lines.append)
        text = "".join(lines).strip()
        return json.loads(text.splitlines()[-1]) if text else None

    async def queue(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._agent("queue")
        return result

    async def cancel(self, job_ids: list[int], all_jobs: bool) -> list[int]:
        args = "--all" if all_jobs else " ".join(str(j) for j in job_ids)
        result = await self._agent(f"cancel {args}")
        return [int(j) for j in result["cancelled"]]

    async def set_autostop(self, minutes: float | None, down: bool) -> None:
        if minutes is None:
            await self._agent("autostop --cancel")
        else:
            await self._agent(f"autostop --idle-minutes {minutes}" + (" --down" if down else ""))


async def _clone(runner: CommandRunner, git: GitWorkdir) -> None:
    ref = f" && git checkout -q {shlex.quote(git.ref)}" if git.ref else ""
    await runner.check_output(
        f"rm -rf {REMOTE_WORKDIR} && git clone -q {shlex.quote(git.url)} {REMOTE_WORKDIR}"
        f" && cd {REMOTE_WORKDIR}{ref}"
    )
