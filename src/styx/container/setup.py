"""Making every node's container at launch (client side), in parallel over the nodes' runners."""

from __future__ import annotations

import asyncio
import posixpath
from dataclasses import replace
from typing import TYPE_CHECKING

from styx.container.engine import (
    ContainerSpec,
    container_name,
    failure_reason,
    node_script,
    registry_login,
    stdin_for,
)
from styx.container.image import container_ref
from styx.errors import ClusterError

if TYPE_CHECKING:
    from styx.agent.nodes import NodeSpec
    from styx.providers.access import NodeAccess
    from styx.state.store import ClusterRecord
    from styx.task import Task


def cluster_container_image(record: ClusterRecord) -> str | None:
    """The container image the cluster's nodes run the task in (None: on the host).

    Kubernetes pods are the image themselves, so nothing is started there."""
    from styx.providers.registry import image_is_node

    if image_is_node(record.provider):
        return None
    return container_ref(record.resources.get("image_id"))


def node_container(record: ClusterRecord, node: NodeSpec, instance_id: str) -> str:
    return container_name(record.name, node.rank, instance_id)


def with_containers(record: ClusterRecord, nodes: list[NodeAccess]) -> list[NodeSpec]:
    """The node specs the agent gets: each names its container when the cluster runs one."""
    if cluster_container_image(record) is None:
        return [n.spec for n in nodes]
    return [
        replace(n.spec, docker_container=node_container(record, n.spec, n.instance.id))
        for n in nodes
    ]


def _absolute_mounts(task: Task) -> tuple[str, ...]:
    """File-mount targets outside the home (which is bound as a whole), bound at the same path.

    Bucket mounts are made before the container starts, so their targets are bound too."""
    targets = [*task.file_mounts, *(m.target for m in task.storage_mounts)]
    return tuple(sorted({t for t in targets if posixpath.isabs(t) and not t.startswith("~")}))


async def start_containers(record: ClusterRecord, nodes: list[NodeAccess], task: Task) -> None:
    """Make (or start again) each node's container; ClusterError with the engine's reason, on
    one line, naming the node, when one cannot be made."""
    image = cluster_container_image(record)
    if image is None:
        return
    login = registry_login({**task.envs, **task.secrets})
    mounts = _absolute_mounts(task)

    async def one(node: NodeAccess) -> None:
        spec = ContainerSpec(
            image=image,
            name=node_container(record, node.spec, node.instance.id),
            cluster=record.name,
            instance_id=node.instance.id,
            mounts=mounts,
            gpu_ids=tuple(node.spec.gpu_ids),
            registry_login=login,
        )
        lines: list[str] = []
        code = await node.runner.run(
            node_script(spec), on_output=lines.append, stdin=stdin_for(spec)
        )
        if code != 0:
            output = "".join(lines)
            reason = failure_reason(output) or (output.strip().splitlines() or ["no output"])[-1]
            raise ClusterError(
                f"{node.runner.label}: container for image '{image}' not started: {reason}",
                cluster=record.name,
                node=node.runner.label,
            )

    results = await asyncio.gather(*(one(n) for n in nodes), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
