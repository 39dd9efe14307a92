"""Bucket file mounts as a task file writes them, checked and typed (SkyPilot's syntax).

Two forms, as in SkyPilot:

- a bucket URL as the source (``/data: s3://bucket/prefix``): the bucket's files are copied
  onto the node (mode COPY);
- a mapping ``{name, source, store, mode, persistent}``: with ``name`` Styx creates the bucket
  when missing and uploads a local ``source``; ``mode`` defaults to MOUNT and ``persistent`` to
  true (kept at ``down``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from styx.errors import TaskSpecError
from styx.spec import as_bool, as_str, check_keys, clip, fail


class StorageMode(StrEnum):
    COPY = "COPY"  # downloaded onto the node before setup
    MOUNT = "MOUNT"  # a FUSE mount; writes go to the bucket
    MOUNT_CACHED = "MOUNT_CACHED"  # a FUSE mount with a local write-back cache


class StoreKind(StrEnum):
    S3 = "s3"
    GCS = "gcs"
    AZURE = "azure"
    R2 = "r2"

    @property
    def cloud(self) -> str | None:
        """The provider whose nodes may reach this store with their own identity."""
        return {"s3": "aws", "gcs": "gcp", "azure": "azure"}.get(self.value)


# SkyPilot's other stores: a clear "not supported" instead of "unknown".
OTHER_STORES = ("ibm", "oci", "nebius", "cos")
URL_SCHEMES = {"s3": StoreKind.S3, "gs": StoreKind.GCS, "r2": StoreKind.R2}
AZURE_URL = re.compile(r"^https://([^./]+)\.blob\.core\.windows\.net/([^/]+)(?:/(.*))?$")
MAPPING_KEYS = ("name", "source", "store", "mode", "persistent")


@dataclass(frozen=True)
class BucketRef:
    """Where a mount's files live: a store, a bucket (an Azure container), a prefix in it."""

    store: StoreKind
    bucket: str
    prefix: str = ""
    account: str | None = None  # Azure: the storage account

    @property
    def url(self) -> str:
        tail = f"/{self.prefix}" if self.prefix else ""
        if self.store is StoreKind.AZURE:
            return f"https://{self.account}.blob.core.windows.net/{self.bucket}{tail}"
        scheme = {StoreKind.S3: "s3", StoreKind.GCS: "gs", StoreKind.R2: "r2"}[self.store]
        return f"{scheme}://{self.bucket}{tail}"


@dataclass(frozen=True)
class StorageMount:
    """One bucket file mount: where on the node, which bucket, how it gets there."""

    target: str  # normalised node path (``~/x`` or ``/x``)
    mode: StorageMode
    bucket: BucketRef | None  # None: named bucket whose store is picked at launch
    name: str | None = None  # set: Styx creates the bucket (and uploads ``local_source``)
    local_source: str | None = None
    persistent: bool = True
    store: StoreKind | None = None  # as written (``store:``), None if left to Styx

    @property
    def where(self) -> str:
        return f"file_mounts.{clip(self.target, 120)}"

    def resolved(self, store: StoreKind, account: str | None = None) -> StorageMount:
        """This mount with its bucket named in ``store`` (for ``name:`` mounts)."""
        from dataclasses import replace

        assert self.name is not None
        check_bucket_name(store, self.name, f"{self.where}.name")
        return replace(self, bucket=BucketRef(store, self.name, "", account), store=store)

    def to_yaml(self) -> str | dict[str, Any]:
        if self.name is None and self.bucket is not None and self.mode is StorageMode.COPY:
            return self.bucket.url
        out: dict[str, Any] = {"mode": self.mode.value, "persistent": self.persistent}
        if self.name is not None:
            out["name"] = self.name
        if self.local_source is not None:
            out["source"] = self.local_source
        elif self.name is None and self.bucket is not None:
            out["source"] = self.bucket.url
        if self.store is not None:
            out["store"] = self.store.value
        return out


def is_bucket_url(value: Any) -> bool:
    return isinstance(value, str) and "://" in value


def parse_bucket_url(url: str, where: str) -> BucketRef:
    """``s3://b/p``, ``gs://b/p``, ``r2://b/p`` or ``https://<acct>.blob.core.windows.net/c/p``."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() in ("https", "http") and ".blob.core.windows.net" in rest:
        match = AZURE_URL.match(url)
        if not match:
            raise fail(where, url, "https://<account>.blob.core.windows.net/<container>[/path]")
        account, container, prefix = match.group(1), match.group(2), (match.group(3) or "")
        check_azure_account(account, where)
        check_bucket_name(StoreKind.AZURE, container, where)
        return BucketRef(StoreKind.AZURE, container, prefix.strip("/"), account)
    store = URL_SCHEMES.get(scheme.lower())
    if store is None:
        raise fail(
            where,
            url,
            "a local path or a bucket URL: s3://, gs://, r2:// or "
            "https://<account>.blob.core.windows.net/<container>",
        )
    bucket, _, prefix = rest.partition("/")
    check_bucket_name(store, bucket, where)
    return BucketRef(store, bucket, prefix.strip("/"))


def parse_store(value: Any, where: str) -> StoreKind:
    text = as_str(where, value).strip().lower()
    if text in OTHER_STORES:
        raise TaskSpecError(
            f"{where}: store '{clip(text, 40)}' is not supported by Styx yet; "
            "expected one of s3, gcs, azure, r2",
            field=where,
        )
    try:
        return StoreKind(text)
    except ValueError:
        raise fail(where, value, "one of s3, gcs, azure, r2") from None


def parse_mode(value: Any, where: str) -> StorageMode:
    text = as_str(where, value).strip().upper()
    try:
        return StorageMode(text)
    except ValueError:
        raise fail(where, value, "one of MOUNT, COPY, MOUNT_CACHED") from None


def parse_storage_mount(target: str, value: Any, where: str) -> StorageMount:
    """A bucket mount from a ``file_mounts`` value (a URL or a storage mapping)."""
    if isinstance(value, str):
        return StorageMount(target, StorageMode.COPY, parse_bucket_url(value.strip(), where))
    if not isinstance(value, dict):
        raise fail(where, value, "a local path, a bucket URL or {name, source, store, mode}")
    check_keys(value, MAPPING_KEYS, where)
    mode = parse_mode(value.get("mode", "MOUNT"), f"{where}.mode")
    persistent = as_bool(f"{where}.persistent", value.get("persistent", True))
    store = parse_store(value["store"], f"{where}.store") if value.get("store") else None
    name = value.get("name")
    source = value.get("source")
    if source is not None and not isinstance(source, str):
        raise fail(f"{where}.source", source, "a local path or a bucket URL")
    if name is None:
        if source is None:
            raise TaskSpecError(
                f"{where}: a storage mount needs 'name' (a bucket Styx manages) or 'source' "
                "(a bucket URL)",
                field=where,
            )
        if not is_bucket_url(source):
            raise TaskSpecError(
                f"{where}.source: a local source needs 'name', the bucket to upload it to",
                field=f"{where}.source",
            )
        bucket = parse_bucket_url(source.strip(), f"{where}.source")
        if store is not None and store is not bucket.store:
            raise fail(f"{where}.store", value["store"], f"'{bucket.store.value}' (the URL's)")
        return StorageMount(target, mode, bucket, persistent=persistent, store=bucket.store)
    name = as_str(f"{where}.name", name).strip()
    if source is not None and is_bucket_url(source):
        raise TaskSpecError(
            f"{where}: give either 'name' (a bucket Styx manages) or a bucket URL as 'source', "
            "not both",
            field=where,
        )
    if mode is StorageMode.COPY and source is None:
        raise TaskSpecError(
            f"{where}.mode: COPY needs a 'source' to copy from", field=f"{where}.mode"
        )
    # Without 'store' the store is picked at launch; S3's rules are the strictest common ones.
    check_bucket_name(store or StoreKind.S3, name, f"{where}.name")
    if source is not None:
        from styx.task import check_path_text

        source = check_path_text(f"{where}.source", source)
    bucket = BucketRef(store, name) if store is not None and store is not StoreKind.AZURE else None
    return StorageMount(
        target,
        mode,
        bucket,
        name=name,
        local_source=source,
        persistent=persistent,
        store=store,
    )


_S3_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_GCS_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_AZURE_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
_R2_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_AZURE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")

_RULES = {
    StoreKind.S3: "3-63 lowercase letters, digits, '.' or '-', starting and ending with a "
    "letter or digit",
    StoreKind.GCS: "3-63 lowercase letters, digits, '-', '_' or '.' (222 with dots), starting "
    "and ending with a letter or digit, without 'google'",
    StoreKind.AZURE: "3-63 lowercase letters, digits or single '-', starting and ending with a "
    "letter or digit",
    StoreKind.R2: "3-63 lowercase letters, digits or '-', starting and ending with a letter or "
    "digit",
}


def check_bucket_name(store: StoreKind, name: str, where: str) -> None:
    """Each store's naming rules; TaskSpecError naming the field and the rule."""
    ok = {
        StoreKind.S3: _S3_NAME,
        StoreKind.GCS: _GCS_NAME,
        StoreKind.AZURE: _AZURE_NAME,
        StoreKind.R2: _R2_NAME,
    }[store].match(name) is not None
    if ok and store is StoreKind.S3:
        ok = ".." not in name and not name.startswith("xn--") and not name.endswith("-s3alias")
    if ok and store is StoreKind.GCS:
        ok = "google" not in name and not name.startswith("goog")
        ok = ok and all(0 < len(part) <= 63 for part in name.split("."))
    if ok and store in (StoreKind.S3, StoreKind.GCS):
        try:
            ipaddress.ip_address(name)
            ok = False
        except ValueError:
            pass
    if not ok:
        raise fail(where, name, f"a {store.value} bucket name: {_RULES[store]}")


def check_azure_account(account: str, where: str) -> None:
    if not _AZURE_ACCOUNT.match(account):
        raise fail(where, account, "an Azure storage account: 3-24 lowercase letters or digits")
