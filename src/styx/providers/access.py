"""How the client reaches a cluster's nodes: the typed answer of ``CloudProvider.cluster_access``.

A :class:`ClusterAccess` is made for one connection to one cluster and holds everything that
connection needs: per node, the instance, a :class:`CommandRunner` the client runs commands and
copies files with, and the :class:`NodeSpec` telling the head's agent how *it* reaches that node;
plus how to get the Python that runs the agent on the head (installing the runtime when needed).
Nothing is kept between connections outside this object.

Implementations live with the providers that use them: the local machine
(``providers/local/access.py``), Kubernetes pods (``providers/kubernetes/access.py``), and nodes
reached over SSH, shared by the clouds and the SSH pools (``execution/ssh/access.py``).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass

from styx.agent.nodes import NodeSpec
from styx.execution.runner import CommandRunner
from styx.providers.instance import Instance


def node_label(rank: int) -> str:
    """How messages name a node: ``head`` for rank 0, ``worker<rank>`` for the others."""
    return "head" if rank == 0 else f"worker{rank}"


@dataclass
class NodeAccess:
    """One node: its instance, the client's runner for it, and how the head's agent reaches it."""

    instance: Instance
    runner: CommandRunner
    spec: NodeSpec


class ClusterAccess(ABC):
    """A cluster's nodes as the client reaches them, ordered by rank (the head first)."""

    # False where the agent runs in a Python that cannot go missing (this very interpreter):
    # then a "command not found" from the head is the command's own answer, not a lost runtime.
    installs_runtime: bool = True

    def __init__(self, cluster_name: str, nodes: list[NodeAccess]) -> None:
        if not nodes:
            raise ValueError("a cluster access needs at least one node")
        self.cluster_name = cluster_name
        self.nodes = sorted(nodes, key=lambda n: n.instance.node_rank)

    @property
    def head(self) -> NodeAccess:
        return self.nodes[0]

    @abstractmethod
    async def agent_python(self, force: bool = False) -> str:
        """The shell-quoted Python that runs the agent on the head.

        Installs (or updates) the runtime on the head when the client has not already done so;
        ``force`` checks the head again instead of trusting what the client remembers (the head
        answered 127: its runtime is gone).
        """

    async def close(self) -> None:
        """Close every node's runner. Safe to call more than once."""
        await asyncio.gather(*(n.runner.close() for n in self.nodes), return_exceptions=True)
