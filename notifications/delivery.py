"""Sending one Delivery: the body of the Celery task ``notifications.deliver``.

Safe to run twice and concurrently: the row is locked (``select_for_update``) and only
a pending or held row whose time has come is sent; a sent row is never sent again.
A failed send is retried with exponential backoff (``send_after``), at most
``LINLI_NOTIFICATION_MAX_ATTEMPTS`` times; the dispatcher's sweep picks it up again.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from core.sms import SmsError, get_sms_backend, valid_mainland_mobile

from .kinds import EMAIL, SMS
from .models import Delivery
from .quiet import quiet_until

logger = logging.getLogger("linli.notifications")

SENDABLE = (Delivery.Status.PENDING, Delivery.Status.HELD)


def max_attempts() -> int:
    return int(getattr(settings, "LINLI_NOTIFICATION_MAX_ATTEMPTS", 6))


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 ... minutes after the n-th failure, at most six hours."""
    base = int(getattr(settings, "LINLI_NOTIFICATION_RETRY_SECONDS", 60))
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


class _Unsendable(Exception):
    """The delivery can never go out (no address): skipped, not retried."""


def _send(delivery: Delivery) -> None:
    user = delivery.recipient
    if delivery.channel == SMS:
        if not valid_mainland_mobile(user.phone):
            raise _Unsendable("no valid mainland mobile number")
        get_sms_backend().send(user.phone, delivery.body)
    elif delivery.channel == EMAIL:
        if not user.email:
            raise _Unsendable("no e-mail address")
        EmailMessage(delivery.subject, delivery.body, to=[user.email]).send()
    else:
        raise _Unsendable(f"channel {delivery.channel} is not sent")


def deliver(delivery_id: int, *, now=None) -> str:
    """Send the delivery if it is due; returns its status afterwards ("" when missing)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("recipient")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return ""
        if delivery.status not in SENDABLE:
            return delivery.status
        if delivery.send_after is not None and delivery.send_after > now:
            return delivery.status
        if delivery.channel == SMS:
            held_until = quiet_until(now)
            if held_until is not None:
                delivery.status = Delivery.Status.HELD
                delivery.send_after = held_until
                delivery.save(update_fields=["status", "send_after"])
                return delivery.status
        delivery.attempts += 1
        try:
            _send(delivery)
        except _Unsendable as exc:
            delivery.status = Delivery.Status.SKIPPED
            delivery.last_error = str(exc)
        except (SmsError, OSError) as exc:
            _failed(delivery, exc, now)
        except Exception as exc:  # noqa: BLE001 - any backend error is a failed attempt
            logger.exception("delivery %s failed", delivery.pk)
            _failed(delivery, exc, now)
        else:
            delivery.status = Delivery.Status.SENT
            delivery.sent_at = now
            delivery.last_error = ""
            delivery.send_after = None
        delivery.save(update_fields=["status", "attempts", "last_error", "send_after", "sent_at"])
        return delivery.status


def _failed(delivery: Delivery, exc: Exception, now) -> None:
    delivery.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
    if delivery.attempts >= max_attempts():
        delivery.status = Delivery.Status.FAILED
        delivery.send_after = None
    else:
        delivery.status = Delivery.Status.PENDING
        delivery.send_after = now + backoff(delivery.attempts)


def due_delivery_ids(*, now=None, limit: int = 500) -> list[int]:
    """Held and retrying deliveries whose time has come (the dispatcher's sweep)."""
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(status__in=SENDABLE, send_after__lte=now)
        .order_by("send_after", "id")
        .values_list("id", flat=True)[:limit]
    )
