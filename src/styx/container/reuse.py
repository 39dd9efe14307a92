"""Launching on an existing cluster: its container image cannot change under it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from styx.container.image import ImageKind, image_kind
from styx.errors import ClusterError

if TYPE_CHECKING:
    from styx.state.store import ClusterRecord
    from styx.task import Task


def check_same_image(record: ClusterRecord, task: Task) -> None:
    """ClusterError when the task's container image differs from the one the cluster runs (or
    one of them has a container image and the other has none)."""
    if "image_id" not in record.resources:
        return  # a cluster recorded before images were kept: nothing to compare with
    had = record.resources.get("image_id")
    wants = task.resources.image_for(record.region)
    if ImageKind.CONTAINER not in (image_kind(had), image_kind(wants)) or had == wants:
        return
    running = f"runs image '{had}'" if had else "runs no container image"
    asked = f"'{wants}'" if wants else "no container image"
    raise ClusterError(
        f"cluster '{record.name}' {running} but the task asks for {asked}; use another "
        f"cluster name or `styx down {record.name}` first",
        cluster=record.name,
    )
