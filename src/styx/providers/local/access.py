"""Local nodes: sandbox folders on this machine, run with bash, the agent in this interpreter."""

from __future__ import annotations

import shlex
import sys

from styx.agent.nodes import NodeKind, NodeSpec
from styx.execution.runner import LocalRunner
from styx.providers.access import ClusterAccess, NodeAccess, node_label
from styx.providers.instance import Instance


class LocalClusterAccess(ClusterAccess):
    # The agent runs in the client's own Python: nothing to install, nothing to lose.
    installs_runtime = False

    async def agent_python(self, force: bool = False) -> str:
        return shlex.quote(sys.executable)


def local_node(inst: Instance, home: str, gpu_ids: list[int]) -> NodeAccess:
    """A node whose home is the sandbox folder ``home``, with the GPUs it was given."""
    from pathlib import Path

    runner = LocalRunner(Path(home), inst.id, label=node_label(inst.node_rank))
    spec = NodeSpec(
        rank=inst.node_rank,
        ip=inst.private_ip or "127.0.0.1",
        kind=NodeKind.LOCAL,
        home=home,
        instance_id=inst.id,
        gpu_ids=tuple(gpu_ids),
    )
    return NodeAccess(inst, runner, spec)
