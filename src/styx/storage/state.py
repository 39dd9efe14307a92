"""What Styx remembers about buckets: those it created, and the mounts live on each cluster.

Its own tables (``storage.ddl.STORAGE_DDL``, one entry of ``state.schema.MIGRATIONS``) and
queries, over the
shared :class:`~styx.state.store.StateStore`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from styx.storage.spec import BucketRef, StoreKind

if TYPE_CHECKING:
    from styx.state.store import StateStore


@dataclass(frozen=True)
class BucketRecord:
    url: str
    name: str
    store: StoreKind
    account: str | None
    region: str | None
    persistent: bool
    cluster: str | None  # the cluster whose launch created it
    owner: str
    created_at: float

    @property
    def ref(self) -> BucketRef:
        return BucketRef(self.store, self.name, "", self.account)


class StorageState:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    def add_bucket(self, record: BucketRecord) -> None:
        with self.store.write() as db:
            db.execute(
                "INSERT INTO storage_buckets (url, name, store, account, region, persistent, "
                "cluster, owner, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET name = excluded.name, store = excluded.store, "
                "account = excluded.account, region = excluded.region, "
                "persistent = excluded.persistent, cluster = excluded.cluster, "
                "owner = excluded.owner, created_at = excluded.created_at",
                (
                    record.url,
                    record.name,
                    record.store.value,
                    record.account,
                    record.region,
                    int(record.persistent),
                    record.cluster,
                    record.owner,
                    record.created_at,
                ),
            )

    def buckets(self) -> list[BucketRecord]:
        rows = self.store.query("SELECT * FROM storage_buckets ORDER BY name, url")
        return [_bucket(dict(r)) for r in rows]

    def bucket(self, url: str) -> BucketRecord | None:
        return next((b for b in self.buckets() if b.url == url), None)

    def remove_bucket(self, url: str) -> None:
        with self.store.write() as db:
            db.execute("DELETE FROM storage_buckets WHERE url = ?", (url,))

    def add_mounts(self, cluster: str, mounts: list[tuple[str, str, str]]) -> None:
        """(target, url, mode) of each mount now live on the cluster's nodes."""
        with self.store.write() as db:
            db.executemany(
                "INSERT INTO storage_mounts (cluster, target, url, mode) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(cluster, target) DO UPDATE SET url = excluded.url, "
                "mode = excluded.mode",
                [(cluster, *m) for m in mounts],
            )

    def mounts(self, cluster: str) -> list[tuple[str, str, str]]:
        rows = self.store.query(
            "SELECT target, url, mode FROM storage_mounts WHERE cluster = ? ORDER BY target",
            (cluster,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def forget_mounts(self, cluster: str) -> None:
        with self.store.write() as db:
            db.execute("DELETE FROM storage_mounts WHERE cluster = ?", (cluster,))


def new_record(
    ref: BucketRef, region: str | None, persistent: bool, cluster: str | None, owner: str
) -> BucketRecord:
    return BucketRecord(
        ref.url,
        ref.bucket,
        ref.store,
        ref.account,
        region,
        persistent,
        cluster,
        owner,
        time.time(),
    )


def _bucket(row: dict[str, object]) -> BucketRecord:
    return BucketRecord(
        url=str(row["url"]),
        name=str(row["name"]),
        store=StoreKind(str(row["store"])),
        account=row["account"] if row["account"] is None else str(row["account"]),
        region=row["region"] if row["region"] is None else str(row["region"]),
        persistent=bool(row["persistent"]),
        cluster=row["cluster"] if row["cluster"] is None else str(row["cluster"]),
        owner=str(row["owner"]),
        created_at=float(row["created_at"]),  # type: ignore[arg-type]
    )
