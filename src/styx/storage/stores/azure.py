"""Azure Blob Storage through azure-storage-blob; a bucket is a container of one account.

The account and its endpoint come from ``AZURE_STORAGE_CONNECTION_STRING`` (an emulator such as
Azurite, or any account with a key) when it names the same account; otherwise from
``https://<account>.blob.core.windows.net`` with ``DefaultAzureCredential``. ``name:`` mounts
use ``azure.storage_account`` from config.yaml (or the connection string's account).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from styx.errors import StorageError
from styx.storage.spec import StoreKind
from styx.storage.stores.base import (
    TAG_MANAGED,
    TAG_OWNER,
    ObjectStore,
    RcloneRemote,
    store_error,
)

SAS_DAYS = 30  # nodes off Azure get a container-scoped SAS valid this long


def default_account() -> str | None:
    """The account ``name:`` mounts use: config's ``azure.storage_account``, else the
    connection string's."""
    from styx.config import provider_config

    account = provider_config("azure").get("storage_account")
    if account:
        return str(account)
    return _connection_fields().get("AccountName")


def _connection_fields() -> dict[str, str]:
    text = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    return dict(p.split("=", 1) for p in text.split(";") if "=" in p)


class AzureStore(ObjectStore):
    kind = StoreKind.AZURE

    def __init__(self, account: str) -> None:
        from azure.storage.blob import BlobServiceClient

        self.account = account
        fields = _connection_fields()
        self.key: str | None = None
        if fields.get("AccountName") == account:
            self.client = BlobServiceClient.from_connection_string(
                os.environ["AZURE_STORAGE_CONNECTION_STRING"]
            )
            self.key = fields.get("AccountKey")
        else:
            from azure.identity import DefaultAzureCredential

            self.client = BlobServiceClient(
                f"https://{account}.blob.core.windows.net", credential=DefaultAzureCredential()
            )

    def _error(self, exc: Exception, container: str, action: str) -> StorageError:
        code = getattr(exc, "error_code", None) or getattr(exc, "status_code", None)
        status = getattr(exc, "status_code", None)
        return store_error(
            f"https://{self.account}.blob.core.windows.net/{container}",
            action,
            denied=status in (401, 403),
            missing=status == 404,
            missing_noun="container",
            detail=code or exc,
        )

    def exists(self, bucket: str) -> bool:
        try:
            return bool(self.client.get_container_client(bucket).exists())
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._error(exc, bucket, "read the container") from None

    def create(self, bucket: str, region: str | None, owner: str) -> None:
        try:
            self.client.create_container(
                bucket, metadata={_meta(TAG_OWNER): owner, _meta(TAG_MANAGED): "true"}
            )
        except Exception as exc:  # noqa: BLE001 - translated below
            if getattr(exc, "error_code", None) == "ContainerAlreadyExists":
                return
            raise self._error(exc, bucket, "create the container") from None

    def upload_file(self, bucket: str, key: str, path: Path) -> None:
        try:
            with open(path, "rb") as data:
                self.client.get_blob_client(bucket, key).upload_blob(data, overwrite=True)
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._error(exc, bucket, f"upload {key}") from None

    def delete(self, bucket: str) -> None:
        try:
            self.client.delete_container(bucket)
        except Exception as exc:  # noqa: BLE001 - translated below
            if getattr(exc, "status_code", None) == 404:
                return
            raise self._error(exc, bucket, "delete the container") from None

    def list_styx_buckets(self, owner: str) -> list[str]:
        try:
            containers = list(self.client.list_containers(include_metadata=True))
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._error(exc, "*", "list containers") from None
        return [c.name for c in containers if (c.metadata or {}).get(_meta(TAG_OWNER)) == owner]

    def rclone_remote(self, bucket: str, copy_credentials: bool) -> RcloneRemote:
        if not copy_credentials:
            return RcloneRemote({"type": "azureblob", "account": self.account, "use_msi": "true"})
        if not self.key:
            raise StorageError(
                f"https://{self.account}.blob.core.windows.net/{bucket}: nodes off Azure need "
                "an account key (AZURE_STORAGE_CONNECTION_STRING) to reach the container",
                bucket=bucket,
            )
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        # A SAS scoped to this one container, not the account key: the node gets no more.
        expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=SAS_DAYS)
        permission = ContainerSasPermissions(
            read=True, write=True, delete=True, list=True, add=True, create=True
        )
        sas = generate_container_sas(
            self.account, bucket, account_key=self.key, permission=permission, expiry=expiry
        )
        url = f"{self.client.url.rstrip('/')}/{bucket}?{sas}"
        return RcloneRemote({"type": "azureblob", "sas_url": url}, secret=True)


def _meta(key: str) -> str:
    """Azure metadata names are C identifiers."""
    return key.replace("-", "_")
