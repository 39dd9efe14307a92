"""The interface every object store implements, and what they share.

Stores are synchronous (the SDKs are); async callers go through ``providers.sync.run_sync``.
Every SDK error leaves a store as a :class:`~styx.errors.StorageError` naming the bucket.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from styx.errors import StorageError
from styx.storage.spec import StoreKind

TAG_OWNER = "styx-owner"  # on every bucket Styx creates (S3 tag, GCS label, Azure metadata)
TAG_MANAGED = "styx-managed"
UPLOAD_THREADS = 16


@dataclass(frozen=True)
class RcloneRemote:
    """An rclone remote for one bucket: its config section and the environment rclone needs.

    ``secret`` says the section carries credentials (the node's copy is then private).
    """

    options: dict[str, str]
    secret: bool = False
    unset_env: tuple[str, ...] = field(default=())


def store_error(
    url: str, action: str, *, denied: bool, missing: bool, missing_noun: str, detail: object
) -> StorageError:
    """The one-line error every store raises for a failed SDK call on the bucket at ``url``:
    permission refused, bucket (or container) missing, or anything else with the SDK's detail."""
    if denied:
        return StorageError(f"{url}: no permission to {action} ({detail})", bucket=url)
    if missing:
        return StorageError(f"{url}: {missing_noun} does not exist", bucket=url)
    return StorageError(f"{url}: cannot {action}: {str(detail)[:200]}", bucket=url)


class ObjectStore(ABC):
    """One store (S3, GCS, Azure Blob, R2). ``bucket`` is a bucket (an Azure container) name."""

    kind: StoreKind

    @abstractmethod
    def exists(self, bucket: str) -> bool:
        """True if the bucket exists; StorageError if we may not look (no permission)."""

    @abstractmethod
    def create(self, bucket: str, region: str | None, owner: str) -> None:
        """Create the bucket (in ``region`` where the store has regions), tagged as Styx's."""

    @abstractmethod
    def upload_file(self, bucket: str, key: str, path: Path) -> None:
        """Upload one file as ``key``."""

    @abstractmethod
    def delete(self, bucket: str) -> None:
        """Delete every object, then the bucket. A missing bucket is success."""

    @abstractmethod
    def list_styx_buckets(self, owner: str) -> list[str]:
        """Names of the buckets tagged as created by Styx for ``owner``."""

    @abstractmethod
    def rclone_remote(self, bucket: str, copy_credentials: bool) -> RcloneRemote:
        """How a node's rclone reaches ``bucket``: the client's credentials for this store only
        (``copy_credentials``), or the node's own identity."""

    def upload_dir(self, bucket: str, prefix: str, local: Path) -> int:
        """Upload a file or a folder's files (``.styxignore``/``.gitignore`` honoured) under
        ``prefix``; returns the number of files. Files are sent in parallel."""
        files = list(local_files(local))
        base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        parallel(lambda item: self.upload_file(bucket, base + item[0], item[1]), files)
        return len(files)


def local_files(local: Path) -> Iterator[tuple[str, Path]]:
    """(key, path) of each file that travels: a file is its own name, a folder is walked."""
    from styx.execution.sync import ignore_patterns, iter_files

    if local.is_file():
        yield local.name, local
        return
    yield from iter_files(local, ignore_patterns(local))


def parallel(action: Callable[[tuple[str, Path]], None], items: list[tuple[str, Path]]) -> None:
    """Run ``action`` over ``items`` in a thread pool; the first error is raised."""
    if not items:
        return
    with ThreadPoolExecutor(max_workers=min(UPLOAD_THREADS, len(items))) as pool:
        for future in [pool.submit(action, item) for item in items]:
            future.result()


def env_first(*names: str) -> str | None:
    """The first of ``names`` set (non-empty) in this environment."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
