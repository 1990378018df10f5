"""Shared helpers of the services tests (H1): creating reports through the service and
reading the notices they wrote."""

import io

from PIL import Image

from issues.models import Source
from issues.services import issue_create


def report(world, *, category=None, reporter=None, side=None, **kwargs):
    side = side or world.a
    kwargs.setdefault("building", side.building)
    return issue_create(
        category=category or world.noise,
        description=kwargs.pop("description", "楼道里堆了杂物，堵住了消防通道"),
        source=kwargs.pop("source", Source.WEB),
        reporter=reporter if reporter is not None else side.resident,
        **kwargs,
    )


def png(size=(40, 30), color=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "photo.png"
    return buffer


def notices(kind, issue=None):
    from notifications.models import Notification

    rows = Notification.objects.filter(kind=kind)
    if issue is not None:
        rows = rows.filter(object_id=str(issue.pk))
    return rows


def notified_ids(kind, issue=None):
    return set(notices(kind, issue).values_list("recipient_id", flat=True))
