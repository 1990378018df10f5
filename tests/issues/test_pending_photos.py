"""Photos a report form kept across a validation error are deleted after a day when no
report took them (the daily job issues.purge_pending_photos)."""

import datetime
import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage
from django.utils import timezone
from PIL import Image

from core.images import process_image
from issues.forms.report import PENDING_PREFIX
from issues.services.photos import PURGE_JOB, purge_pending_photos, purge_pending_photos_job
from notifications.models import JobRun

pytestmark = pytest.mark.django_db


def _jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "JPEG")
    return ContentFile(buffer.getvalue(), name="p.jpg")


def test_old_pending_photos_go_and_fresh_ones_and_report_photos_stay():
    storage = InMemoryStorage()  # its own: other tests leave pending photos behind
    pending = process_image(_jpeg(), prefix=PENDING_PREFIX, storage=storage)
    kept = process_image(_jpeg(), prefix="issues", storage=storage)
    now = timezone.now()
    assert purge_pending_photos(now=now, storage=storage) == 0  # a form may still send them
    assert storage.exists(pending.name)

    later = now + datetime.timedelta(days=1, minutes=1)
    assert purge_pending_photos(now=later, storage=storage) == 2  # the photo, its thumbnail
    assert not storage.exists(pending.name)
    assert not storage.exists(pending.thumbnail_name)
    assert storage.exists(kept.name) and storage.exists(kept.thumbnail_name)
    assert purge_pending_photos(now=later, storage=storage) == 0  # idempotent


def test_the_job_records_its_run():
    purge_pending_photos_job()
    run = JobRun.objects.get(name=PURGE_JOB)
    assert run.status == JobRun.Status.OK and set(run.counts) == {"deleted"}
