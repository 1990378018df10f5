"""Registry files waiting between the preview and the confirmation (``core.tables.uploads``).

They hold ID numbers: kept encrypted under ``imports/<user id>/``, for
``settings.LINLI_IMPORT_KEEP_HOURS`` (24) hours at most.
"""

from __future__ import annotations

import datetime

from core.tables.uploads import PendingUploads, Upload

UPLOADS = PendingUploads(directory="imports", salt="residents.imports.upload")
UPLOAD_DIR = UPLOADS.directory

__all__ = [
    "UPLOADS",
    "UPLOAD_DIR",
    "Upload",
    "purge_expired_uploads",
    "upload_discard",
    "upload_keep",
    "upload_load",
    "upload_store",
]


def upload_keep() -> datetime.timedelta:
    return UPLOADS.keep()


def upload_store(*, user, filename: str, data: bytes) -> str:
    return UPLOADS.store(user=user, filename=filename, data=data)


def upload_load(*, user, token: str) -> Upload | None:
    return UPLOADS.load(user=user, token=token)


def upload_discard(*, user, token: str) -> None:
    UPLOADS.discard(user=user, token=token)


def purge_expired_uploads(*, now: datetime.datetime | None = None) -> int:
    return UPLOADS.purge_expired(now=now)
