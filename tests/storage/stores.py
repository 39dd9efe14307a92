"""Witnesses: each store's own SDK, pointed at its emulator, never through Styx."""

from __future__ import annotations

import os
from typing import Any


def _s3() -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"])


def _gcs() -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="witness", credentials=AnonymousCredentials())


def _azure() -> Any:
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])


def create_bucket(store: str, bucket: str, objects: dict[str, bytes]) -> None:
    if store == "s3":
        client = _s3()
        client.create_bucket(Bucket=bucket)
        for key, body in objects.items():
            client.put_object(Bucket=bucket, Key=key, Body=body)
    elif store == "gcs":
        handle = _gcs().create_bucket(bucket)
        for key, body in objects.items():
            handle.blob(key).upload_from_string(body)
    else:
        container = _azure().create_container(bucket)
        for key, body in objects.items():
            container.upload_blob(key, body)


def exists(store: str, bucket: str) -> bool:
    if store == "s3":
        return bucket in [b["Name"] for b in _s3().list_buckets()["Buckets"]]
    if store == "gcs":
        return bool(_gcs().bucket(bucket).exists())
    return bool(_azure().get_container_client(bucket).exists())


def read(store: str, bucket: str) -> dict[str, bytes]:
    """Every object of the bucket, key -> content."""
    if store == "s3":
        client = _s3()
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}
    if store == "gcs":
        return {b.name: b.download_as_bytes() for b in _gcs().list_blobs(bucket)}
    container = _azure().get_container_client(bucket)
    return {b.name: container.download_blob(b.name).readall() for b in container.list_blobs()}


def url(store: str, bucket: str, prefix: str = "") -> str:
    tail = f"/{prefix}" if prefix else ""
    if store == "s3":
        return f"s3://{bucket}{tail}"
    if store == "gcs":
        return f"gs://{bucket}{tail}"
    return f"https://devstoreaccount1.blob.core.windows.net/{bucket}{tail}"
