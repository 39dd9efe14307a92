"""Amazon S3 and S3-compatible stores (Cloudflare R2, any endpoint) through boto3.

The endpoint follows boto3's own overrides (``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``);
R2's comes from ``r2.endpoint_url`` in config.yaml or SkyPilot's ``~/.cloudflare/accountid``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from styx.errors import StorageError
from styx.storage.spec import StoreKind
from styx.storage.stores.base import (
    TAG_MANAGED,
    TAG_OWNER,
    ObjectStore,
    RcloneRemote,
    env_first,
    store_error,
)

R2_CREDENTIALS = "~/.cloudflare/r2.credentials"  # SkyPilot's file: an AWS-style profile 'r2'
R2_ACCOUNT_ID = "~/.cloudflare/accountid"
DENIED = ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled")


class S3Store(ObjectStore):
    def __init__(self, kind: StoreKind = StoreKind.S3) -> None:
        import boto3

        self.kind = kind
        self.endpoint: str | None = None
        if kind is StoreKind.R2:
            self.endpoint = _r2_endpoint()
            profile = "r2" if Path(R2_CREDENTIALS).expanduser().is_file() else None
            if profile:
                import os

                os.environ.setdefault(
                    "AWS_SHARED_CREDENTIALS_FILE", str(Path(R2_CREDENTIALS).expanduser())
                )
            self.session = boto3.session.Session(profile_name=profile)
        else:
            self.endpoint = env_first("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
            self.session = boto3.session.Session()
        region = self.session.region_name or "us-east-1"
        self.region = region
        self.client = self.session.client("s3", endpoint_url=self.endpoint, region_name=region)

    def _error(self, exc: Exception, bucket: str, action: str) -> StorageError:
        code = _code(exc)
        return store_error(
            f"{self.kind.value}://{bucket}",
            action,
            denied=code in DENIED,
            missing=code in ("NoSuchBucket", "404"),
            missing_noun="bucket",
            detail=code or exc,
        )

    def exists(self, bucket: str) -> bool:
        try:
            self.client.head_bucket(Bucket=bucket)
            return True
        except Exception as exc:  # noqa: BLE001 - translated below
            if _code(exc) in ("404", "NoSuchBucket"):
                return False
            raise self._error(exc, bucket, "read the bucket") from None

    def create(self, bucket: str, region: str | None, owner: str) -> None:
        region = region or self.region
        args: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1" and self.kind is StoreKind.S3:
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**args)
            self.client.put_bucket_tagging(
                Bucket=bucket,
                Tagging={"TagSet": [{"Key": TAG_OWNER, "Value": owner}, _managed()]},
            )
        except Exception as exc:  # noqa: BLE001 - translated below
            if _code(exc) == "BucketAlreadyOwnedByYou":
                return
            raise self._error(exc, bucket, "create the bucket") from None

    def upload_file(self, bucket: str, key: str, path: Path) -> None:
        try:
            self.client.upload_file(str(path), bucket, key)
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._error(exc, bucket, f"upload {key}") from None

    def delete(self, bucket: str) -> None:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for page in pages:
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
            self.client.delete_bucket(Bucket=bucket)
        except Exception as exc:  # noqa: BLE001 - translated below
            if _code(exc) in ("NoSuchBucket", "404"):
                return
            raise self._error(exc, bucket, "delete the bucket") from None

    def list_styx_buckets(self, owner: str) -> list[str]:
        try:
            names = [b["Name"] for b in self.client.list_buckets().get("Buckets", [])]
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._error(exc, "*", "list buckets") from None
        found = []
        for name in names:
            try:
                tags = self.client.get_bucket_tagging(Bucket=name).get("TagSet", [])
            except Exception:  # noqa: BLE001 - untagged or not ours to read: not Styx's
                continue
            if {"Key": TAG_OWNER, "Value": owner} in tags:
                found.append(name)
        return found

    def rclone_remote(self, bucket: str, copy_credentials: bool) -> RcloneRemote:
        options = {"type": "s3", "provider": "AWS", "region": self.region}
        if self.kind is StoreKind.R2:
            options["provider"] = "Cloudflare"
        elif self.endpoint:
            options["provider"] = "Other"
        if self.endpoint:
            options["endpoint"] = self.endpoint
        # rclone refuses a custom CA bundle on a plain-http endpoint (an emulator, a proxy).
        unset = ("AWS_CA_BUNDLE",) if (self.endpoint or "").startswith("http://") else ()
        if not copy_credentials:
            options["env_auth"] = "true"  # the node's instance profile
            return RcloneRemote(options, unset_env=unset)
        creds = self.session.get_credentials()
        if creds is None:
            raise StorageError(
                f"{self.kind.value}://{bucket}: no credentials on this machine to give the nodes",
                bucket=f"{self.kind.value}://{bucket}",
            )
        frozen = creds.get_frozen_credentials()
        options["access_key_id"] = frozen.access_key
        options["secret_access_key"] = frozen.secret_key
        if frozen.token:
            options["session_token"] = frozen.token
        return RcloneRemote(options, secret=True, unset_env=unset)


def _managed() -> dict[str, str]:
    return {"Key": TAG_MANAGED, "Value": "true"}


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def _r2_endpoint() -> str:
    from styx.config import load_config

    section = load_config().get("r2") or {}
    if isinstance(section, dict) and section.get("endpoint_url"):
        return str(section["endpoint_url"])
    path = Path(R2_ACCOUNT_ID).expanduser()
    if path.is_file():
        account = path.read_text(encoding="utf-8").strip()
        return f"https://{account}.r2.cloudflarestorage.com"
    raise StorageError(
        "r2: no endpoint: set r2.endpoint_url in $STYX_HOME/config.yaml or write your account "
        f"id to {R2_ACCOUNT_ID}"
    )
