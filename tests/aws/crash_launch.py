"""A launch's provisioning phase, run as a child process that the crash-matrix test kills.

python -m tests.aws.crash_launch CLUSTER NUM_NODES
"""

from __future__ import annotations

import asyncio
import sys

from styx.core.lifecycle import LaunchOptions, provision_cluster
from styx.state import open_store
from styx.task import Task


def main() -> None:
    cluster, nodes = sys.argv[1], int(sys.argv[2])
    options = LaunchOptions(keep_on_failure=sys.argv[3:] == ["keep"])
    task = Task.from_yaml(
        {
            "num_nodes": nodes,
            "run": "true",
            "resources": {"infra": "aws/us-east-1", "instance_type": "m5.large"},
        }
    )
    store = open_store()
    with store.cluster_lock(cluster):
        asyncio.run(provision_cluster(store, task, cluster, options, print))
    print("PROVISIONED", flush=True)


if __name__ == "__main__":
    main()
