"""One object store per cloud behind :class:`~styx.storage.stores.base.ObjectStore`.

SDKs are imported only when a store is opened; a missing SDK is a one-line error with the pip
extra to install.
"""

from __future__ import annotations

from styx.errors import StorageError
from styx.storage.spec import BucketRef, StoreKind
from styx.storage.stores.base import ObjectStore

EXTRAS = {
    StoreKind.S3: "aws",
    StoreKind.R2: "aws",
    StoreKind.GCS: "gcs",
    StoreKind.AZURE: "azure-blob",
}


def open_store(ref: BucketRef) -> ObjectStore:
    """The store holding ``ref``'s bucket."""
    try:
        if ref.store in (StoreKind.S3, StoreKind.R2):
            from styx.storage.stores.s3 import S3Store

            return S3Store(ref.store)
        if ref.store is StoreKind.GCS:
            from styx.storage.stores.gcs import GcsStore

            return GcsStore()
        from styx.storage.stores.azure import AzureStore

        assert ref.account is not None
        return AzureStore(ref.account)
    except ImportError as exc:
        raise StorageError(
            f"{ref.url}: the {ref.store.value} SDK is not installed ({exc.name}); "
            f"pip install 'styx[{EXTRAS[ref.store]}]'",
            bucket=ref.url,
        ) from None
