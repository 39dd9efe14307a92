"""Google Cloud Storage through google-cloud-storage.

``STORAGE_EMULATOR_HOST`` (the SDK's own override) points the client, and the nodes' rclone,
at an emulator; credentials are Application Default Credentials or ``gcp.credentials_file``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from styx.errors import StorageError
from styx.storage.spec import StoreKind
from styx.storage.stores.base import (
    TAG_MANAGED,
    TAG_OWNER,
    ObjectStore,
    RcloneRemote,
    store_error,
)


class GcsStore(ObjectStore):
    kind = StoreKind.GCS

    def __init__(self) -> None:
        from google.cloud import storage

        from styx.config import provider_config

        section = provider_config("gcp")
        self.emulator = os.environ.get("STORAGE_EMULATOR_HOST")
        self.credentials_file = section.get("credentials_file") or os.environ.get(
            "GOOGLE_APPLICATION_CREDENTIALS"
        )
        project = section.get("project_id") or os.environ.get("GOOGLE_CLOUD_PROJECT")
        kwargs: dict[str, Any] = {}
        if self.emulator:
            from google.auth.credentials import AnonymousCredentials

            kwargs["credentials"] = AnonymousCredentials()
            project = project or "styx-local"
        elif section.get("credentials_file"):
            from google.oauth2 import service_account

            kwargs["credentials"] = service_account.Credentials.from_service_account_file(
                str(Path(section["credentials_file"]).expanduser())
            )
        try:
            self.client = storage.Client(project=project, **kwargs)
        except Exception as exc:  # noqa: BLE001 - no ADC, no project
            raise StorageError(f"gcs: cannot build a client: {exc}") from None

    def _error(self, exc: Exception, bucket: str, action: str) -> StorageError:
        code = getattr(exc, "code", None)
        return store_error(
            f"gs://{bucket}",
            action,
            denied=code in (401, 403),
            missing=code == 404,
            missing_noun="bucket",
            detail=code if code in (401, 403) else exc,
        )

    def exists(self, bucket: str) -> bool:
        try:
            return bool(self.client.bucket(bucket).exists())
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._error(exc, bucket, "read the bucket") from None

    def create(self, bucket: str, region: str | None, owner: str) -> None:
        handle = self.client.bucket(bucket)
        handle.labels = {TAG_OWNER: _label(owner), TAG_MANAGED: "true"}
        try:
            self.client.create_bucket(handle, location=region or "US")
        except Exception as exc:  # noqa: BLE001 - translated below
            if getattr(exc, "code", None) == 409 and self.exists(bucket):
                return
            raise self._error(exc, bucket, "create the bucket") from None

    def upload_file(self, bucket: str, key: str, path: Path) -> None:
        try:
            self.client.bucket(bucket).blob(key).upload_from_filename(str(path))
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._error(exc, bucket, f"upload {key}") from None

    def delete(self, bucket: str) -> None:
        try:
            handle = self.client.bucket(bucket)
            for blob in self.client.list_blobs(bucket):
                blob.delete()
            handle.delete()
        except Exception as exc:  # noqa: BLE001 - translated below
            if getattr(exc, "code", None) == 404:
                return
            raise self._error(exc, bucket, "delete the bucket") from None

    def list_styx_buckets(self, owner: str) -> list[str]:
        try:
            buckets = list(self.client.list_buckets())
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._error(exc, "*", "list buckets") from None
        return [b.name for b in buckets if (b.labels or {}).get(TAG_OWNER) == _label(owner)]

    def rclone_remote(self, bucket: str, copy_credentials: bool) -> RcloneRemote:
        options = {"type": "google cloud storage", "bucket_policy_only": "true"}
        if self.emulator:
            host = self.emulator if "://" in self.emulator else f"http://{self.emulator}"
            options.update(anonymous="true", endpoint=f"{host.rstrip('/')}/storage/v1/")
            return RcloneRemote(options)
        if not copy_credentials:
            return RcloneRemote(options)  # the node's service account (metadata server)
        path = Path(self.credentials_file).expanduser() if self.credentials_file else None
        info = json.loads(path.read_text(encoding="utf-8")) if path and path.is_file() else {}
        if info.get("type") != "service_account":
            raise StorageError(
                f"gs://{bucket}: nodes off GCP need a service-account key to reach GCS "
                "(gcp.credentials_file or GOOGLE_APPLICATION_CREDENTIALS)",
                bucket=f"gs://{bucket}",
            )
        options["service_account_credentials"] = json.dumps(info)
        return RcloneRemote(options, secret=True)


def _label(value: str) -> str:
    """GCS label values: lowercase letters, digits, '-' and '_', at most 63."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in value.lower())[:63]
