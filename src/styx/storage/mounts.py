"""Bucket mounts through a cluster's life: checked before provisioning, buckets created and
uploaded after placement, copied or mounted on every node before setup, flushed at job end,
unmounted and (when not persistent) deleted at ``down``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from styx.errors import StorageError, TaskSpecError
from styx.providers.sync import run_sync
from styx.storage.rclone import (
    ERROR_MARK,
    NodeMount,
    config_text,
    mount_script,
    unmount_command,
    write_config_command,
)
from styx.storage.spec import BucketRef, StorageMode, StorageMount, StoreKind
from styx.storage.stores import open_store

if TYPE_CHECKING:
    from styx.providers.access import NodeAccess
    from styx.state.store import ClusterRecord, StateStore
    from styx.task import Task

CLOUD_STORES = {"aws": StoreKind.S3, "gcp": StoreKind.GCS, "azure": StoreKind.AZURE}
# Nodes on a bucket's own cloud use their node identity when config.yaml names one.
NODE_IDENTITY_KEYS = {"aws": "instance_profile", "gcp": "service_account", "azure": "identity"}
UNMOUNT_TIMEOUT_S = 120.0
T = TypeVar("T")


def copy_credentials_allowed() -> bool:
    """``storage.copy_credentials`` in config.yaml (default true)."""
    from styx.config import load_config

    section = load_config().get("storage") or {}
    if not isinstance(section, dict):
        raise StorageError("config.yaml: 'storage' must be a mapping")
    value = section.get("copy_credentials", True)
    if not isinstance(value, bool):
        raise StorageError(
            f"config.yaml: storage.copy_credentials: got {value!r}, expected true or false"
        )
    return value


async def check_before_provisioning(task: Task) -> None:
    """Buckets named by URL must exist and be readable; stores named for ``name:`` mounts must
    be reachable. One line naming the mount, before anything is provisioned."""

    async def check(mount: StorageMount) -> None:
        ref = mount.bucket
        if ref is None:
            return
        store = await run_sync(open_store, ref)
        exists = await _named(mount, run_sync(store.exists, ref.bucket))
        if not exists and mount.name is None:
            raise StorageError(
                f"{mount.where}: bucket {ref.url} does not exist (add 'name:' to have Styx "
                "create one)",
                bucket=ref.url,
            )

    await asyncio.gather(*(check(m) for m in task.storage_mounts))


async def _named(mount: StorageMount, call: Awaitable[T]) -> T:
    """Await a store call; a StorageError is reworded to name the mount first."""
    try:
        return await call
    except StorageError as exc:
        raise StorageError(f"{mount.where}: {exc}", bucket=exc.bucket) from None


def resolve(mount: StorageMount, cloud: str) -> StorageMount:
    """A ``name:`` mount's bucket in the store it names, or the cluster's cloud's store."""
    if mount.bucket is not None and mount.bucket.store is not StoreKind.AZURE:
        return mount
    if mount.bucket is not None and mount.bucket.account:
        return mount
    store = mount.store or CLOUD_STORES.get(cloud)
    if store is None:
        raise TaskSpecError(
            f"{mount.where}.store: the cluster is on {cloud}, which has no object store; "
            "name one (s3, gcs, azure, r2)",
            field=f"{mount.where}.store",
        )
    account = None
    if store is StoreKind.AZURE:
        from styx.storage.stores.azure import default_account

        account = default_account()
        if not account:
            raise StorageError(
                f"{mount.where}: no Azure storage account for bucket '{mount.name}': set "
                "azure.storage_account in config.yaml or AZURE_STORAGE_CONNECTION_STRING"
            )
    return mount.resolved(store, account)


async def prepare_buckets(
    store: StateStore, task: Task, record: ClusterRecord, progress: Callable[[str], None]
) -> Task:
    """Create missing ``name:`` buckets (in the cluster's region where the store is the cluster's
    cloud's), upload local sources, record what Styx created. Returns the task with every
    mount's bucket resolved."""
    from styx.config import owner_id
    from styx.storage.state import StorageState, new_record

    state = StorageState(store)
    resolved = tuple(resolve(m, record.provider) for m in task.storage_mounts)
    for mount in resolved:
        if mount.name is None:
            continue
        ref = mount.bucket
        assert ref is not None
        objects = await run_sync(open_store, ref)
        if not await _named(mount, run_sync(objects.exists, ref.bucket)):
            region = record.region if CLOUD_STORES.get(record.provider) is ref.store else None
            progress(f"creating bucket {ref.url}")
            await _named(mount, run_sync(objects.create, ref.bucket, region, owner_id()))
            state.add_bucket(new_record(ref, region, mount.persistent, record.name, owner_id()))
        if mount.local_source is not None:
            local = task.resolve_path(mount.local_source)
            count = await _named(mount, run_sync(objects.upload_dir, ref.bucket, "", local))
            progress(f"uploaded {count} file(s) from {mount.local_source} to {ref.url}")
    return replace(task, storage_mounts=resolved)


async def _node_mounts(mounts: tuple[StorageMount, ...], cloud: str) -> list[NodeMount]:
    from styx.config import provider_config

    allowed = copy_credentials_allowed()
    out = []
    for index, mount in enumerate(mounts):
        ref = mount.bucket
        assert ref is not None, "prepare_buckets resolves every mount"
        objects = await run_sync(open_store, ref)
        same_cloud = ref.store.cloud == cloud
        identity = same_cloud and bool(provider_config(cloud).get(NODE_IDENTITY_KEYS[cloud]))
        copy = allowed and not identity
        remote = await _named(mount, run_sync(objects.rclone_remote, ref.bucket, copy))
        path = f"m{index}:{ref.bucket}" + (f"/{ref.prefix}" if ref.prefix else "")
        out.append(NodeMount(index, mount.target, mount.mode, path, mount.where, remote))
    return out


async def mount_on_nodes(
    store: StateStore, cluster: str, cloud: str, nodes: list[NodeAccess], task: Task
) -> None:
    """COPY, MOUNT and MOUNT_CACHED every bucket mount on every node, in parallel."""
    from styx.storage.state import StorageState

    if not task.storage_mounts:
        return
    mounts = await _node_mounts(task.storage_mounts, cloud)
    live = [m for m in task.storage_mounts if m.mode is not StorageMode.COPY]
    if live:  # recorded first: a launch that fails half-way still unmounts at `down`
        StorageState(store).add_mounts(
            cluster,
            [(m.target, m.bucket.url if m.bucket else "", m.mode.value) for m in live],
        )
    config = config_text(mounts).encode()
    script = mount_script(mounts)

    async def one(node: NodeAccess) -> None:
        await node.runner.check_output(write_config_command(), stdin=config)
        lines: list[str] = []
        code = await node.runner.run(script, on_output=lines.append)
        errors = [ln.split(ERROR_MARK, 1)[1].strip() for ln in lines if ERROR_MARK in ln]
        if code != 0 or errors:
            what = errors[0] if errors else (lines[-1].strip() if lines else f"exit {code}")
            raise StorageError(f"{node.runner.label}: {what}")

    results = await asyncio.gather(*(one(n) for n in nodes), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def needs_flush(task: Task, cluster: str) -> bool:
    """Whether a job on ``cluster`` must wait for bucket uploads at its end: the task mounts
    buckets, or an earlier launch left mounts there (``styx exec`` onto a mounted cluster)."""
    if any(m.mode is not StorageMode.COPY for m in task.storage_mounts):
        return True
    from styx.state.store import open_store
    from styx.storage.state import StorageState

    return bool(StorageState(open_store()).mounts(cluster))


async def unmount_cluster(store: StateStore, record: ClusterRecord) -> None:
    """Flush and unmount the cluster's live mounts (before its nodes go away). Best effort:
    a node that cannot be reached has no mounts left to keep."""
    from styx.storage.state import StorageState

    state = StorageState(store)
    if not state.mounts(record.name):
        return
    instances = [i for i in store.instances(record.name) if i.state.is_alive]
    if instances:
        from styx.execution.backend import cluster_access

        try:
            access = await asyncio.wait_for(cluster_access(record, instances), UNMOUNT_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - unreachable: nothing mounted there to keep
            access = None
        if access is not None:
            try:
                await asyncio.wait_for(
                    asyncio.gather(
                        *(n.runner.run(unmount_command()) for n in access.nodes),
                        return_exceptions=True,
                    ),
                    UNMOUNT_TIMEOUT_S,
                )
            except TimeoutError:
                pass
            finally:
                await access.close()
    state.forget_mounts(record.name)


async def delete_cluster_buckets(
    store: StateStore, cluster: str, progress: Callable[[str], None]
) -> None:
    """Delete the non-persistent buckets this cluster's launches created."""
    from styx.storage.state import StorageState

    state = StorageState(store)
    for bucket in state.buckets():
        if bucket.cluster != cluster or bucket.persistent:
            continue
        await delete_bucket(store, bucket.ref)
        progress(f"deleted bucket {bucket.url}")


async def delete_bucket(store: StateStore, ref: BucketRef) -> None:
    from styx.storage.state import StorageState

    objects = await run_sync(open_store, ref)
    await run_sync(objects.delete, ref.bucket)
    StorageState(store).remove_bucket(ref.url)
