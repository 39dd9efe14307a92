"""Kubernetes pods as a cluster's nodes: a runner per pod, and the head pod's runtime.

* The client reaches every pod through the API's ``pods/exec`` (``KubernetesCommandRunner``, one
  API client per pod), wrapped here into the ``CommandRunner`` interface.
* The head pod's agent runs the head's own rank itself (``NodeKind.LOCAL``, home ``~``) and starts
  the workers' ranks with ``NodeKind.K8S`` specs (pod, namespace, container): the agent execs into
  them with the head pod's service-account token (``styx.agent.kubeexec``).
* The runtime is installed in the head pod exactly as on an SSH head (``ensure_runtime``): the
  pod image must have python3 (3.11+), bash and setsid — the provider's default images do.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path

from styx.agent.nodes import NodeKind, NodeSpec
from styx.execution.runner import CommandRunner, OutputCallback
from styx.providers.access import ClusterAccess, NodeAccess, node_label
from styx.providers.instance import Instance
from styx.providers.kubernetes.manifests import CONTAINER
from styx.providers.kubernetes.runner import KubernetesCommandRunner


class PodRunner(CommandRunner):
    """A pod, through the exec runner; output lines keep their newline, as the other runners
    give them (the agent's JSON answers are parsed from the joined text)."""

    def __init__(self, inner: KubernetesCommandRunner, label: str) -> None:
        self.inner = inner
        self.label = label

    async def run(
        self,
        cmd: str,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        on_output: OutputCallback | None = None,
        stdin: bytes | None = None,
    ) -> int:
        emit = on_output or (lambda _line: None)
        return await self.inner.run(
            cmd, env=env, cwd=cwd, on_output=lambda line: emit(line + "\n"), stdin=stdin
        )

    async def put(self, local: Path, remote: str, excludes: Sequence[str] = ()) -> None:
        """A folder travels without what .styxignore/.gitignore and ``excludes`` leave out
        (staged in a temporary copy, since the exec runner tars whole folders). Unlike SSH,
        files already in the pod that the folder no longer has are not removed."""
        if not local.is_dir():
            await self.inner.put(local, remote)
            return
        from styx.execution.sync import copy_tree

        with tempfile.TemporaryDirectory(prefix="styx-put-") as staged:
            await asyncio.to_thread(copy_tree, local, Path(staged), list(excludes))
            await self.inner.put(Path(staged), remote)

    async def close(self) -> None:
        await self.inner.close()


def pod_spec(inst: Instance) -> NodeSpec:
    """How the head pod's agent reaches this pod (itself, for rank 0)."""
    namespace, _, pod = (inst.native_id or "").partition("/")
    if inst.node_rank == 0:
        return NodeSpec(
            rank=0,
            ip=inst.private_ip or pod,
            kind=NodeKind.LOCAL,
            home="~",
            instance_id=inst.id,
        )
    return NodeSpec(
        rank=inst.node_rank,
        ip=inst.private_ip or pod,
        kind=NodeKind.K8S,
        instance_id=inst.id,
        pod=pod,
        namespace=namespace,
        container=CONTAINER,
    )


def pod_node(inst: Instance, runner: KubernetesCommandRunner) -> NodeAccess:
    return NodeAccess(inst, PodRunner(runner, node_label(inst.node_rank)), pod_spec(inst))


class KubeClusterAccess(ClusterAccess):
    async def agent_python(self, force: bool = False) -> str:
        """Install (if needed) the client's Styx in the head pod; the venv Python, shell-quoted.

        As for SSH heads, what was installed is remembered on the client so that ``exec`` on an
        up cluster skips the check.
        """
        from styx.runtime.install import HeadFiles, ensure_runtime_remembered

        return await ensure_runtime_remembered(
            self.head.runner, self.head.instance.id, HeadFiles(), force
        )
