"""The daily jobs: the e-mail digest (18:00) and the purge of old notifications (03:45)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .jobs import job_run
from .kinds import DIGEST_CHANNEL, DIGEST_KIND, EMAIL
from .models import Delivery, Notification, OutboxEntry, Preference
from .services import DELIVER_TASK

DIGEST_JOB = "notifications.email_digest"
PURGE_JOB = "notifications.purge"


def _digest_text(user, items, day) -> tuple[str, str]:
    context = {"recipient": user, "items": items, "day": day}
    with translation.override(user.language or None):
        subject = " ".join(render_to_string("notifications/digest/subject.txt", context).split())
        body = render_to_string("notifications/digest/body.txt", context).strip()
    return subject[:200], body


def send_digests(*, now=None) -> int:
    """One e-mail per user who chose the digest, listing every notice since their last
    digest (every kind). Exactly once per user and day (the Delivery key is the date)."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    queued = 0
    user_ids = Preference.objects.filter(
        kind=DIGEST_KIND, channel=DIGEST_CHANNEL, enabled=True
    ).values("user_id")
    users = get_user_model().objects.filter(pk__in=user_ids, is_active=True).exclude(email="")
    with job_run(DIGEST_JOB) as run:
        for user in users.order_by("pk"):
            last = (
                Delivery.objects.filter(kind=DIGEST_KIND, recipient=user, channel=EMAIL)
                .order_by("-created_at")
                .values_list("created_at", flat=True)
                .first()
            )
            since = last or now - dt.timedelta(days=1)
            items = list(
                Notification.objects.filter(
                    recipient=user, created_at__gt=since, created_at__lte=now
                ).order_by("id")
            )
            if not items:
                continue
            subject, body = _digest_text(user, items, day)
            try:
                with transaction.atomic():
                    delivery = Delivery.objects.create(
                        kind=DIGEST_KIND,
                        key=day.isoformat(),
                        recipient=user,
                        channel=EMAIL,
                        subject=subject,
                        body=body,
                        created_at=now,
                    )
                    OutboxEntry.objects.create(
                        task=DELIVER_TASK, payload={"delivery_id": delivery.pk}, created_at=now
                    )
            except IntegrityError:
                run.count("already_sent")
                continue
            queued += 1
            run.count("digests")
    return queued


def purge_notifications(*, now=None) -> int:
    """Delete inbox rows older than LINLI_NOTIFICATION_KEEP_DAYS (and dispatched outbox
    entries older than a week). Delivery rows stay: they are the exactly-once record."""
    now = now or timezone.now()
    days = int(getattr(settings, "LINLI_NOTIFICATION_KEEP_DAYS", 180))
    with job_run(PURGE_JOB) as run:
        deleted, _ = Notification.objects.filter(
            created_at__lt=now - dt.timedelta(days=days)
        ).delete()
        run.count("notifications", deleted)
        outbox, _ = OutboxEntry.objects.filter(
            dispatched_at__lt=now - dt.timedelta(days=7)
        ).delete()
        run.count("outbox", outbox)
    return deleted
