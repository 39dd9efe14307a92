"""Clusters whose nodes are Kubernetes pods: runners per pod and the head pod's runtime.

Design:

* The client reaches every pod through the API's ``pods/exec`` (``KubernetesCommandRunner``
  from the provider, one API client per pod), wrapped here into the ``CommandRunner`` interface.
* The head pod's agent runs the head's own rank itself (``kind: local``, home ``~``) and starts
  the workers' ranks with ``kind: k8s`` specs (pod, namespace, container): the agent execs into
  them with the head pod's service-account token (``styx.agent.kubeexec``).
* The runtime is installed in the head pod exactly as on an SSH head (``ensure_runtime``): the
  pod image must have python3 (3.11+), bash and setsid — the provider's default images do.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from styx.execution.backend import NodeAccess
from styx.execution.runner import CommandRunner, OutputCallback
from styx.providers.instance import Instance
from styx.state.store import ClusterRecord

_HEADS: dict[str, str] = {}  # cluster name -> head instance id (for the client's runtime cache)


def _label(rank: int) -> str:
    return "head" if rank == 0 else f"worker{rank}"


class PodRunner(CommandRunner):
    """A pod, through the provider's exec runner; output lines keep their newline, as the
    other runners give them (the agent's JSON answers are parsed from the joined text)."""

    def __init__(self, inner: Any, label: str) -> None:
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
        code: int = await self.inner.run(
            cmd, env=env, cwd=cwd, on_output=lambda line: emit(line + "\n"), stdin=stdin
        )
        return code

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


def _pod(inst: Instance) -> tuple[str, str]:
    namespace, _, pod = (inst.native_id or "").partition("/")
    return namespace, pod


async def kube_node_access(record: ClusterRecord, instances: list[Instance]) -> list[NodeAccess]:
    from styx.placement import provider_factory
    from styx.providers.kubernetes.manifests import CONTAINER

    provider = provider_factory()("kubernetes")
    out = []
    for inst in sorted(instances, key=lambda i: i.node_rank):
        runner = PodRunner(await provider.command_runner(inst), _label(inst.node_rank))
        namespace, pod = _pod(inst)
        spec: dict[str, Any] = {
            "rank": inst.node_rank,
            "ip": inst.private_ip or pod,
            "instance_id": inst.id,
        }
        if inst.node_rank == 0:
            spec.update(kind="local", home="~")  # the head runs its own rank itself
        else:
            spec.update(kind="k8s", pod=pod, namespace=namespace, container=CONTAINER)
        out.append(NodeAccess(inst, runner, spec))
    if out:
        _HEADS[record.name] = out[0].instance.id
    return out


async def kube_agent_python(
    record: ClusterRecord, head_runner: CommandRunner, force: bool = False
) -> str:
    """Install (if needed) the client's Styx in the head pod; the venv Python, shell-quoted.

    As for SSH heads, what was installed is remembered on the client so that ``exec`` on an up
    cluster skips the check; ``force`` checks again (the head answered 127).
    """
    from styx.runtime.install import HeadFiles, ensure_runtime_remembered

    return await ensure_runtime_remembered(head_runner, _HEADS.get(record.name), HeadFiles(), force)
