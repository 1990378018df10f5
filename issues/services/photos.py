"""Photos of a report and of its steps, stored through ``core.images``.

Images are processed (validated, cleaned, resized, stored) *before* the transaction that
records them, so no row lock waits on image work; if anything fails after some were
stored, the stored files are deleted again (``stored_photos``), since a rollback cannot
take files back.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ..models import IssuePhoto

PREFIX = "issues"


def max_photos() -> int:
    return int(getattr(settings, "LINLI_ISSUE_MAX_PHOTOS", 9))


def check_count(photos, *, already: int = 0) -> None:
    limit = max_photos()
    if len(photos) + already > limit:
        raise ValidationError(
            {
                "photos": ValidationError(
                    _("At most %(max)d photos.") % {"max": limit}, code="too_many_photos"
                )
            }
        )


@contextmanager
def stored_photos(photos):
    """Process and store ``photos``; yield the stored images. On any exception in the
    block (or while storing), delete what was stored and re-raise."""
    from core.images import delete_stored_image, process_image

    photos = [p for p in (photos or ()) if p]
    check_count(photos)
    stored = []
    try:
        for upload in photos:
            stored.append(process_image(upload, prefix=PREFIX))
        yield stored
    except BaseException:
        for image in stored:
            delete_stored_image(image)
        raise


def attach_photos(issue, event, stored, actor) -> list[IssuePhoto]:
    from .timeline import as_user

    return IssuePhoto.objects.bulk_create(
        [
            IssuePhoto(
                issue=issue,
                event=event,
                image=image.name,
                thumbnail=image.thumbnail_name,
                width=image.width,
                height=image.height,
                uploaded_by=as_user(actor),
            )
            for image in stored
        ]
    )


def purge_pending_photos(*, now=None, storage=None) -> int:
    """Delete the photos a report form kept across a validation error (under
    ``issues.forms.report.PENDING_PREFIX``) that no report took within a day: a form
    that was never sent again. Idempotent; returns how many files were deleted."""
    import datetime

    from django.core.files.storage import default_storage
    from django.utils import timezone

    from ..forms.report import PENDING_PREFIX

    storage = storage or default_storage
    cutoff = (now or timezone.now()) - datetime.timedelta(days=1)
    deleted = 0
    folders = [PENDING_PREFIX]
    while folders:
        folder = folders.pop()
        try:
            subfolders, files = storage.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        folders.extend(f"{folder}/{name}" for name in subfolders)
        for name in files:
            path = f"{folder}/{name}"
            try:
                if storage.get_modified_time(path) < cutoff:
                    storage.delete(path)
                    deleted += 1
            except FileNotFoundError:  # deleted meanwhile (a form took it)
                continue
    return deleted


PURGE_JOB = "issues.purge_pending_photos"


def purge_pending_photos_job(**_kwargs) -> int:
    """The daily job around :func:`purge_pending_photos`, recorded as a job run."""
    from notifications.jobs import job_run

    with job_run(PURGE_JOB) as run:
        deleted = purge_pending_photos()
        run.counts = {"deleted": deleted}
    return deleted
