"""Bucket file mounts as task files write them: the forms SkyPilot accepts, and one-line errors
naming the field for everything else."""

from __future__ import annotations

import pytest

from styx.errors import TaskSpecError
from styx.storage.spec import StorageMode, StoreKind
from styx.task import Task


def _mounts(file_mounts: dict[str, object]) -> Task:
    return Task.from_yaml({"file_mounts": file_mounts})


def test_url_sources_are_copied_and_mappings_mount_by_default() -> None:
    task = _mounts(
        {
            "/data": "s3://my-data/train",
            "~/gs": "gs://my.bucket_1",
            "~/az": "https://acct1.blob.core.windows.net/box/sub/dir",
            "~/r2": "r2://r2-bucket",
            "~/ckpt": {"name": "ckpt-bucket"},
            "~/out": {"source": "gs://outs", "mode": "mount_cached", "persistent": False},
            "local": ".",
        }
    )
    by_target = {m.target: m for m in task.storage_mounts}
    assert task.file_mounts == {"~/local": "."}
    data = by_target["/data"]
    assert (data.mode, data.bucket.store, data.bucket.bucket, data.bucket.prefix) == (
        StorageMode.COPY, StoreKind.S3, "my-data", "train",
    )  # fmt: skip
    az = by_target["~/az"].bucket
    assert (az.store, az.account, az.bucket, az.prefix) == (
        StoreKind.AZURE, "acct1", "box", "sub/dir",
    )  # fmt: skip
    assert by_target["~/r2"].bucket.store is StoreKind.R2
    ckpt = by_target["~/ckpt"]
    assert (ckpt.mode, ckpt.persistent, ckpt.name, ckpt.bucket) == (
        StorageMode.MOUNT, True, "ckpt-bucket", None,
    )  # fmt: skip
    out = by_target["~/out"]
    assert (out.mode, out.persistent) == (StorageMode.MOUNT_CACHED, False)
    # The task round-trips through its YAML form (what the state store keeps).
    assert Task.from_yaml(task.to_yaml()) == task


@pytest.mark.parametrize(
    ("value", "field", "expected"),
    [
        ("s3://UPPER", "file_mounts./d", "s3 bucket name"),
        ("s3://ab", "file_mounts./d", "s3 bucket name"),
        ("s3://192.168.1.1", "file_mounts./d", "s3 bucket name"),
        ("gs://has-google-in-it", "file_mounts./d", "gcs bucket name"),
        ("https://acct.blob.core.windows.net/a--b", "file_mounts./d", "azure bucket name"),
        ("https://ACCT.blob.core.windows.net/box", "file_mounts./d", "Azure storage account"),
        ("ftp://bucket", "file_mounts./d", "bucket URL"),
        ({"name": "bad name"}, "file_mounts./d.name", "bucket name"),
        ({"name": "abc", "mode": "SYNC"}, "file_mounts./d.mode", "MOUNT, COPY, MOUNT_CACHED"),
        ({"name": "abc", "store": "ibm"}, "file_mounts./d.store", "not supported"),
        ({"name": "abc", "store": "dropbox"}, "file_mounts./d.store", "s3, gcs, azure, r2"),
        ({"name": "abc", "persistent": 3}, "file_mounts./d.persistent", "true or false"),
        ({"name": "abc", "mode": "COPY"}, "file_mounts./d.mode", "needs a 'source'"),
        ({"source": "./local"}, "file_mounts./d.source", "needs 'name'"),
        ({"name": "abc", "source": "s3://other"}, "file_mounts./d", "not both"),
        ({"source": "s3://abc", "store": "gcs"}, "file_mounts./d.store", "the URL's"),
        ({"mode": "MOUNT"}, "file_mounts./d", "needs 'name'"),
        ({"name": "abc", "sourec": "x"}, "file_mounts./d.sourec", "source"),
    ],
)
def test_bad_mounts_fail_in_one_line_naming_the_field(
    value: object, field: str, expected: str
) -> None:
    with pytest.raises(TaskSpecError) as info:
        _mounts({"/d": value})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(field), message
    assert expected.lower() in message.lower(), message


def test_a_bucket_target_is_checked_like_any_target() -> None:
    with pytest.raises(TaskSpecError, match="home"):
        _mounts({"~": "s3://abc"})
    with pytest.raises(TaskSpecError, match="named once"):
        _mounts({"/d": "s3://abc", "/d/": "/tmp"})
    task = _mounts({"/abs": {"name": "abc"}})
    with pytest.raises(TaskSpecError, match="local nodes accept only targets under"):
        task.check_mount_targets("local")
