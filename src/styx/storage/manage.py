"""``styx storage ls`` / ``delete``: the buckets Styx created, as its state store knows them."""

from __future__ import annotations

from styx.errors import StorageError
from styx.storage.state import BucketRecord, StorageState


def list_buckets() -> list[BucketRecord]:
    from styx.state.store import open_store

    return StorageState(open_store()).buckets()


def find_bucket(name: str) -> BucketRecord:
    """A recorded bucket by its name or URL; StorageError naming it if Styx has none such."""
    matches = [b for b in list_buckets() if name in (b.name, b.url)]
    if not matches:
        raise StorageError(f"no bucket named '{name[:200]}' was created by Styx (styx storage ls)")
    if len(matches) > 1:
        urls = ", ".join(b.url for b in matches)
        raise StorageError(f"'{name[:200]}' names several buckets ({urls}); give its URL")
    return matches[0]


async def delete(name: str) -> BucketRecord:
    """Delete a bucket Styx created (every object in it, then the bucket) and forget it."""
    from styx.state.store import open_store
    from styx.storage.mounts import delete_bucket

    record = find_bucket(name)
    await delete_bucket(open_store(), record.ref)
    return record
