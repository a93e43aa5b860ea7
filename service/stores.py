"""Opening the configured object store backend: local directory (embedded) or S3 (minio)."""

from __future__ import annotations

from service.settings import Settings
from storage.objects import LocalObjectStore, S3ObjectStore


def open_object_store(settings: Settings) -> LocalObjectStore | S3ObjectStore:
    if settings.s3 is None:
        return LocalObjectStore(settings.local_store_dir)
    return S3ObjectStore(
        settings.s3.endpoint,
        settings.s3.access_key,
        settings.s3.secret_key,
        settings.s3.bucket,
        secure=settings.s3.secure,
        region=settings.s3.region,
    )
