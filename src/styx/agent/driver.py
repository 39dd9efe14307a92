"""The per-job driver: a detached process that runs one job on all of its nodes.

It waits its turn (jobs run one at a time, FIFO, on a cluster), runs ``setup`` when the job
carries it, then ``run`` as a gang. Output goes to one log per node and a merged log whose lines
are prefixed with the node when there are several. The first node to fail fails the job (named,
with its exit code) and the others are stopped.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO

from styx.agent.jobqueue import JobQueue
from styx.agent.nodes import NodeSpec, kill_on_node, launch_on_node
from styx.agent.protocol import JobSpec


class JobPaths:
    def __init__(self, root: Path, job_id: int) -> None:
        self.dir = root / "jobs" / str(job_id)
        self.spec = self.dir / "spec.json"
        self.log = self.dir / "run.log"
        self.done = self.dir / "done"

    def node_log(self, rank: int) -> Path:
        return self.dir / f"rank-{rank}.log"

    def pid_file(self, rank: int) -> Path:
        return self.dir / f"job{self.dir.name}-rank{rank}.pid"


def job_env(spec: JobSpec, node: NodeSpec, nodes: list[NodeSpec], phase: str) -> dict[str, str]:
    """The environment a job sees, under both the Styx and the SkyPilot names."""
    ips = "\n".join(n.ip for n in nodes)
    values = {
        "NODE_RANK": str(node.rank),
        "NODE_IPS": ips,
        "NUM_NODES": str(len(nodes)),
        "NUM_GPUS_PER_NODE": str(spec.num_gpus_per_node),
        "TASK_ID": spec.task_id or "",
        "CLUSTER_INFO": json.dumps(asdict(spec.cluster_info)),
    }
    env: dict[str, str] = dict(spec.envs)
    env.update(json.loads(os.environ.get("STYX_JOB_SECRETS", "{}")))
    for prefix in ("STYX_", "SKYPILOT_"):
        for key, value in values.items():
            env[prefix + key] = value
        if phase == "setup":
            env[f"{prefix}SETUP_NODE_RANK"] = str(node.rank)
            env[f"{prefix}SETUP_NODE_IPS"] = ips
    env["STYX_CLUSTER_NAME"] = spec.cluster_name
    env["SKYPILOT_CLUSTER_NAME"] = spec.cluster_name  # SkyPilot's files read this name
    env["STYX_JOB_ID"] = str(spec.job_id)
    return env


class _LogSink:
    """Merged log writer shared by the per-node reader threads."""

    def __init__(self, merged: BinaryIO, prefix_nodes: bool) -> None:
        self.merged = merged
        self.prefix_nodes = prefix_nodes
        self.lock = threading.Lock()

    def pump(
        self,
        node: NodeSpec,
        proc: subprocess.Popen[bytes],
        node_log: BinaryIO,
        exited: threading.Event,
    ) -> None:
        try:
            self._copy(node, proc, node_log)
        finally:
            proc.wait()
            exited.set()  # wake the driver at once rather than on its next poll

    def _copy(self, node: NodeSpec, proc: subprocess.Popen[bytes], node_log: BinaryIO) -> None:
        assert proc.stdout is not None
        prefix = f"({node.label}, {node.ip}) ".encode() if self.prefix_nodes else b""
        for line in iter(proc.stdout.readline, b""):
            node_log.write(line)
            node_log.flush()
            with self.lock:
                self.merged.write(prefix + line)
                self.merged.flush()


def _run_phase(
    phase: str,
    command: str,
    spec: JobSpec,
    nodes: list[NodeSpec],
    paths: JobPaths,
    merged: BinaryIO,
    procs: dict[int, subprocess.Popen[bytes]],
) -> tuple[int, NodeSpec | None]:
    """Run ``command`` on every node; return (exit code, failed node or None)."""
    sink = _LogSink(merged, prefix_nodes=len(nodes) > 1)
    exited = threading.Event()
    threads = []
    node_logs = []
    for node in nodes:
        env = job_env(spec, node, nodes, phase)
        proc = launch_on_node(node, command, env, spec.workdir, paths.pid_file(node.rank))
        procs[node.rank] = proc
        log = open(paths.node_log(node.rank), "ab")  # noqa: SIM115 - closed below
        node_logs.append(log)
        t = threading.Thread(target=sink.pump, args=(node, proc, log, exited), daemon=True)
        t.start()
        threads.append(t)
    failed: tuple[int, NodeSpec | None] = (0, None)
    remaining = {n.rank: n for n in nodes}
    while remaining:
        exited.clear()
        for rank, node in list(remaining.items()):
            code = procs[rank].poll()
            if code is None:
                continue
            del remaining[rank]
            if code < 0:  # killed by a signal: report it the way a shell does
                code = 128 - code
            if code != 0 and failed[1] is None:
                failed = (code, node)
                for other in remaining.values():  # one node failing fails the gang
                    kill_on_node(other, procs.get(other.rank), paths.pid_file(other.rank))
        if remaining:
            exited.wait(timeout=1.0)
    for t in threads:
        t.join(timeout=5)
    for log in node_logs:
        log.close()
    procs.clear()
    return failed


def drive(root: Path, job_id: int) -> int:
    queue = JobQueue(root)
    paths = JobPaths(root, job_id)
    spec = JobSpec.from_dict(json.loads(paths.spec.read_text()))
    nodes = list(spec.nodes)
    procs: dict[int, subprocess.Popen[bytes]] = {}

    def on_term(signum: int, frame: object) -> None:
        for node in nodes:
            kill_on_node(node, procs.get(node.rank), paths.pid_file(node.rank))
        queue.finish(job_id, "CANCELLED", message="cancelled")
        paths.done.touch()
        os._exit(143)

    signal.signal(signal.SIGTERM, on_term)
    queue.update(job_id, driver_pid=os.getpid())
    with open(root / "run.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # FIFO-ish: one job at a time on the cluster
        job = queue.get(job_id)
        if job is None or job.done:  # cancelled while waiting
            paths.done.touch()
            return 0
        with open(paths.log, "ab") as merged:
            status, code, node = "SUCCEEDED", 0, None
            if spec.setup:
                queue.update(job_id, status="SETTING_UP", started_at=time.time())
                code, node = _run_phase("setup", spec.setup, spec, nodes, paths, merged, procs)
                if code:
                    status = "FAILED_SETUP"
            if status == "SUCCEEDED":
                queue.update(job_id, status="RUNNING", started_at=time.time())
                if spec.run:
                    code, node = _run_phase("run", spec.run, spec, nodes, paths, merged, procs)
                status = "FAILED" if code else "SUCCEEDED"
            message = None
            if node is not None:
                what = "setup" if status == "FAILED_SETUP" else "job"
                message = f"{what} failed on {node.label} ({node.ip}) with exit code {code}"
            queue.finish(
                job_id,
                status,
                exit_code=code,
                message=message,
                failed_node=node.label if node else None,
            )
    paths.done.touch()
    return code
