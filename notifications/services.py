"""Writes of the notifications app: notify(), read state and preferences.

``notify()`` runs inside the caller's transaction. It records, per recipient, the inbox
row and one Delivery per channel (the exactly-once key), and an OutboxEntry for each
delivery still to send; the dispatcher (notifications.outbox) hands those to Celery
after the commit. Nothing here talks to a broker, a gateway or a mail server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.sms import valid_mainland_mobile

from .kinds import (
    CHOOSABLE_CHANNELS,
    DIGEST_CHANNEL,
    DIGEST_KIND,
    EMAIL,
    INBOX,
    SMS,
    Kind,
    get_kind,
    kinds,
)
from .models import Delivery, Notification, OutboxEntry, Preference
from .quiet import quiet_until
from .selectors import (
    channel_enabled,
    digest_enabled,
    forget_unread_counts,
    preference_map,
)

DELIVER_TASK = "notifications.deliver"


# --- rendering --------------------------------------------------------------------------


def _render_part(kind: Kind, part: str, context: dict) -> str | None:
    try:
        text = render_to_string(f"notifications/{kind.template}/{part}.txt", context)
    except TemplateDoesNotExist:
        return None
    return " ".join(text.split()) if part in ("subject", "sms") else text.strip()


def render_messages(kind: Kind, context: dict, language: str) -> dict[str, str]:
    """The subject, inbox text, e-mail body and SMS of a kind, in ``language``."""
    with translation.override(language or None):
        subject = _render_part(kind, "subject", context) or str(kind.label)
        inbox = _render_part(kind, "inbox", context)
        body = _render_part(kind, "body", context)
        sms = _render_part(kind, "sms", context)
    inbox = inbox if inbox is not None else (body or subject)
    return {
        "subject": subject[:200],
        "inbox": inbox,
        "body": body if body is not None else inbox,
        "sms": sms if sms is not None else subject,
    }


def _object_ref(obj) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label_lower, str(obj.pk)


def _object_url(obj) -> str:
    get_url = getattr(obj, "get_absolute_url", None)
    if get_url is None:
        return ""
    try:
        return str(get_url())
    except Exception:  # noqa: BLE001 - a link is a convenience, never a reason to fail
        return ""


# --- notify ---------------------------------------------------------------------------


def notify(
    *,
    recipients: Iterable,
    kind: str,
    obj=None,
    context: dict | None = None,
    key: str = "",
    neighbourhood=None,
    url: str | None = None,
    now=None,
) -> list[Notification]:
    """Notify each recipient once per (kind, object, key); see the module docstring.

    ``url``: the inbox link (default: ``obj.get_absolute_url()`` when it has one).
    ``now``: the time to record (tests travel in time with it).
    Returns the recipients' Notification rows, new or found from an earlier call.
    """
    kind_obj = get_kind(kind)
    context = dict(context or {})
    now = now or timezone.now()
    object_type, object_id = _object_ref(obj)
    link = url if url is not None else _object_url(obj)
    neighbourhood_id = getattr(neighbourhood, "pk", neighbourhood)
    users = list({user.pk: user for user in recipients if user is not None}.values())
    if not users:
        return []
    identity = {"kind": kind, "object_type": object_type, "object_id": object_id, "key": key}
    claim = uuid.uuid4().hex

    with transaction.atomic():
        prefs = preference_map(user_ids=[u.pk for u in users], kind_codes=[kind, DIGEST_KIND])
        rendered = {}
        notifications = []
        for user in users:
            messages = render_messages(
                kind_obj, {**context, "recipient": user, "obj": obj, "url": link}, user.language
            )
            rendered[user.pk] = messages
            notifications.append(
                Notification(
                    recipient=user,
                    kind=kind,
                    subject=messages["subject"],
                    body=messages["inbox"],
                    url=link[:500],
                    object_type=object_type,
                    object_id=object_id,
                    created_at=now,
                )
            )
        notifications = Notification.objects.bulk_create(notifications)
        by_user = {n.recipient_id: n for n in notifications}

        deliveries = []
        for user in users:
            common = {
                **identity,
                "recipient": user,
                "claim": claim,
                "neighbourhood_id": neighbourhood_id,
                "created_at": now,
            }
            messages = rendered[user.pk]
            deliveries.append(
                Delivery(
                    **common,
                    channel=INBOX,
                    status=Delivery.Status.SENT,
                    subject=messages["subject"],
                    notification=by_user[user.pk],
                    sent_at=now,
                )
            )
            for channel in CHOOSABLE_CHANNELS:
                if not channel_enabled(prefs, user_id=user.pk, kind=kind_obj, channel=channel):
                    continue
                deliveries.append(
                    _channel_delivery(common, channel, user, messages, by_user[user.pk], prefs, now)
                )
        # a row that exists already (an earlier call, or a racing one) is left alone
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        mine = list(
            Delivery.objects.filter(claim=claim).values_list(
                "id", "recipient_id", "channel", "status"
            )
        )
        claimed_users = {user_id for _, user_id, channel, _ in mine if channel == INBOX}
        lost = [n.pk for n in notifications if n.recipient_id not in claimed_users]
        if lost:
            # rows of ours for a recipient notified before (a channel turned on since)
            Delivery.objects.filter(claim=claim).exclude(recipient_id__in=claimed_users).delete()
            Notification.objects.filter(pk__in=lost).delete()
        OutboxEntry.objects.bulk_create(
            [
                OutboxEntry(task=DELIVER_TASK, payload={"delivery_id": pk}, created_at=now)
                for pk, user_id, channel, status in mine
                if channel != INBOX
                and user_id in claimed_users
                and status in (Delivery.Status.PENDING, Delivery.Status.HELD)
            ]
        )
        result = [n for n in notifications if n.recipient_id in claimed_users]
        others = [u.pk for u in users if u.pk not in claimed_users]
        if others:
            result += list(
                Notification.objects.filter(
                    deliveries__channel=INBOX,
                    deliveries__recipient_id__in=others,
                    **{f"deliveries__{name}": value for name, value in identity.items()},
                )
            )
        user_ids = [u.pk for u in users]
        transaction.on_commit(lambda: forget_unread_counts(user_ids))
        from .outbox import kick

        transaction.on_commit(kick)
    return result


def _channel_delivery(common, channel, user, messages, notification, prefs, now) -> Delivery:
    delivery = Delivery(**common, channel=channel, notification=notification)
    if channel == SMS:
        delivery.body = messages["sms"]
        if not valid_mainland_mobile(user.phone):
            delivery.status = Delivery.Status.SKIPPED
            delivery.last_error = "no valid mainland mobile number"
        else:
            held_until = quiet_until(now)
            if held_until is not None:
                delivery.status = Delivery.Status.HELD
                delivery.send_after = held_until
    elif channel == EMAIL:
        delivery.subject = messages["subject"]
        delivery.body = messages["body"]
        if not user.email:
            delivery.status = Delivery.Status.SKIPPED
            delivery.last_error = "no e-mail address"
        elif digest_enabled(prefs, user_id=user.pk):
            delivery.status = Delivery.Status.SKIPPED
            delivery.last_error = "in the daily digest"
    return delivery


# --- read state ------------------------------------------------------------------------


def mark_read(*, user, notification_id, now=None) -> bool:
    """Mark one of the user's own notifications read; False when it was not unread (or
    not theirs: the view answers 404 for that through access_notification first)."""
    changed = Notification.objects.filter(
        pk=notification_id, recipient=user, read_at__isnull=True
    ).update(read_at=now or timezone.now())
    if changed:
        transaction.on_commit(lambda: forget_unread_counts([user.pk]))
    return bool(changed)


def mark_all_read(*, user, now=None) -> int:
    changed = Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
    transaction.on_commit(lambda: forget_unread_counts([user.pk]))
    return changed


# --- preferences --------------------------------------------------------------------


def preferences_save(*, user, enabled: set[tuple[str, str]], digest: bool) -> None:
    """Save the settings page: ``enabled`` holds the (kind, channel) pairs ticked.

    Only choices that differ from a kind's default are kept (a later change of the
    default reaches everyone who never chose); kinds that are not optional keep their
    defaults whatever was sent.
    """
    with transaction.atomic():
        for kind in kinds():
            if not kind.optional:
                continue
            for channel in CHOOSABLE_CHANNELS:
                chosen = (kind.code, channel) in enabled
                if chosen == (channel in kind.default_channels):
                    Preference.objects.filter(user=user, kind=kind.code, channel=channel).delete()
                else:
                    Preference.objects.update_or_create(
                        user=user, kind=kind.code, channel=channel, defaults={"enabled": chosen}
                    )
        Preference.objects.update_or_create(
            user=user, kind=DIGEST_KIND, channel=DIGEST_CHANNEL, defaults={"enabled": digest}
        )
