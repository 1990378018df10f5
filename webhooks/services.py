"""Webhook writes: subscriptions, publishing an event, and one attempt of a delivery.

* ``subscription_create`` / ``subscription_update`` / ``subscription_delete``: the URL
  passes the address guard (``webhooks.guard``) and the events must be registered
  (``webhooks.events``); the secret is drawn here and never changes.
* ``publish(event, obj_payload, *, neighbourhood_id)``: call it inside the writer's
  transaction. It records one delivery for every active subscription that lists the
  event and whose API key is active and holds the neighbourhood in its jurisdiction;
  after commit each delivery is queued (``webhooks.deliver``). If the broker is away
  nothing is lost: the beat job ``webhooks.deliver_due`` sends every delivery whose
  attempt is due.
* ``delivery_attempt(delivery_id)``: claims the delivery (a conditional update, so two
  workers never send it twice at once), sends it outside any transaction, and records
  the answer. A 2xx is delivered. Anything else is retried after ``RETRY_DELAYS``
  (1 min, 5 min, 30 min, 2 h, 6 h, 12 h: seven tries in about 21 hours); after the last
  the delivery is dead. ``DISABLE_AFTER`` dead deliveries in a row (no success between
  them) disable the subscription, and the key's creator is told.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.scoping import place_scope

from .events import event_codes, is_event
from .guard import UnsafeTarget, check_url
from .models import WebhookDelivery, WebhookSubscription
from .signing import new_message_id, new_secret, signed_headers

logger = logging.getLogger("linli.webhooks")

RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
DISABLE_AFTER = 2  # dead deliveries in a row that disable a subscription
CLAIM_SECONDS = 300  # an attempt in flight holds its delivery this long
MAX_URL_LENGTH = 500
NOTICE_KIND = "account.notice"


# --- subscriptions -----------------------------------------------------------------------


def clean_url(url) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": _("Enter the URL that receives the webhooks.")})
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(
            {"url": _("The URL is longer than %(max)s characters.") % {"max": MAX_URL_LENGTH}}
        )
    try:
        check_url(url)
    except UnsafeTarget as exc:
        raise ValidationError({"url": exc.messages}, code=exc.code) from None
    return url


def clean_events(events) -> list[str]:
    if isinstance(events, str):
        events = [events]
    wanted = {str(e).strip() for e in events or () if str(e).strip()}
    if not wanted:
        raise ValidationError({"events": _("Choose at least one event.")})
    unknown = sorted(code for code in wanted if not is_event(code))
    if unknown:
        raise ValidationError(
            {
                "events": _("Unknown event(s): %(unknown)s. Known events: %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(event_codes()) or "-"}
            },
            code="unknown_event",
        )
    return [code for code in event_codes() if code in wanted]


def subscription_create(*, api_key, url, events) -> WebhookSubscription:
    url = clean_url(url)
    events = clean_events(events)
    with transaction.atomic():
        return WebhookSubscription.objects.create(
            api_key=api_key, url=url, events=events, secret=new_secret()
        )


def subscription_update(
    *, subscription: WebhookSubscription, url=None, events=None, active=None
) -> WebhookSubscription:
    """Change the URL, the events or the active flag; switching a subscription on again
    forgets its failures."""
    changed = []
    if url is not None:
        subscription.url = clean_url(url)
        changed.append("url")
    if events is not None:
        subscription.events = clean_events(events)
        changed.append("events")
    if active is not None and bool(active) != subscription.active:
        subscription.active = bool(active)
        changed.append("active")
        if subscription.active:
            subscription.failure_count = 0
            subscription.disabled_at = None
            changed += ["failure_count", "disabled_at"]
    if changed:
        with transaction.atomic():
            subscription.save(update_fields=changed)
    return subscription


def subscription_delete(*, subscription: WebhookSubscription) -> None:
    with transaction.atomic():
        subscription.delete()


# --- publishing --------------------------------------------------------------------------


def message_body(event: str, obj_payload: dict, *, at=None) -> dict:
    """The JSON body of a delivery: the event type, its time and the object."""
    at = at or timezone.now()
    return {"type": event, "timestamp": at.isoformat(), "data": obj_payload}


def publish(event: str, obj_payload: dict, *, neighbourhood_id: int) -> list[WebhookDelivery]:
    """Record a delivery of ``event`` for every subscription entitled to it (see the
    module docstring); returns them. Call it inside the writer's transaction."""
    return publish_many(event, [(obj_payload, neighbourhood_id)])


def publish_many(event: str, items) -> list[WebhookDelivery]:
    """:func:`publish` for many objects at once (``items``: (payload, neighbourhood id)
    pairs): the subscriptions are read once and the deliveries inserted in bulk, so a run
    that raises a thousand alerts costs the queries of one."""
    if not is_event(event):
        raise ValueError(f"webhook event {event!r} is not registered (webhooks.events)")
    bodies = []
    for obj_payload, neighbourhood_id in items:
        body = message_body(event, obj_payload)
        json.dumps(body)  # fail here, in the writer's transaction, if it is not JSON
        bodies.append((body, neighbourhood_id))
    if not bodies:
        return []
    now = timezone.now()
    subscriptions = [
        subscription
        for subscription in WebhookSubscription.objects.filter(active=True).select_related(
            "api_key"
        )
        if event in (subscription.events or []) and subscription.api_key.is_active
    ]
    deliveries = []
    for subscription in subscriptions:
        key = subscription.api_key
        scope = place_scope(key.place_type_id, key.place_id)
        for body, neighbourhood_id in bodies:
            if scope.covers_neighbourhood(neighbourhood_id):
                deliveries.append(
                    WebhookDelivery(
                        subscription=subscription,
                        event_type=event,
                        event_id=new_message_id(),
                        payload=body,
                        next_attempt_at=now,
                    )
                )
    if not deliveries:
        return []
    with transaction.atomic():
        created = WebhookDelivery.objects.bulk_create(deliveries)
        ids = [d.pk for d in created if d.pk is not None]
        if not ids:  # a backend that does not return ids from bulk inserts
            ids = list(
                WebhookDelivery.objects.filter(
                    event_id__in=[d.event_id for d in deliveries]
                ).values_list("pk", flat=True)
            )
        transaction.on_commit(lambda: enqueue(ids))
    return created


def enqueue(delivery_ids) -> None:
    """Queue the deliveries' first attempt; with the broker away, leave them to beat."""
    from .tasks import deliver

    for delivery_id in delivery_ids:
        try:
            deliver.delay(delivery_id)
        except Exception:  # noqa: BLE001 - the broker away: deliver_due sends it later
            logger.warning("webhook delivery %s not queued; beat will send it", delivery_id)
            return


def due_delivery_ids(*, now=None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


# --- one attempt ---------------------------------------------------------------------------


def _claim(delivery_id: int, now) -> bool:
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
    )


def delivery_attempt(delivery_id: int, *, now=None) -> str | None:
    """Send the delivery if an attempt is due; returns its status afterwards, or None
    when nothing was due (already sent, not yet time, or another worker has it)."""
    from . import transport

    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    if not subscription.active:
        _record(delivery, now, error="subscription disabled", final=True)
        return delivery.status
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = signed_headers(subscription.secret, delivery.event_id, int(time.time()), body)
    try:
        answer = transport.post(subscription.url, body, headers)
    except transport.DeliveryError as exc:
        _record(delivery, now, error=str(exc)[:300])
    else:
        _record(delivery, now, status=answer.status)
    return delivery.status


def _record(delivery: WebhookDelivery, now, *, status=None, error=None, final=False) -> None:
    entry = {"at": now.isoformat(), "attempt": delivery.attempts + 1}
    if status is not None:
        entry["status"] = status
    else:
        entry["error"] = error
    ok = status is not None and 200 <= status < 300
    with transaction.atomic():
        delivery.attempts += 1
        delivery.response_log = [*(delivery.response_log or []), entry][-20:]
        if ok:
            delivery.status = WebhookDelivery.DELIVERED
            delivery.next_attempt_at = None
        elif final or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
        delivery.save(update_fields=["attempts", "response_log", "status", "next_attempt_at"])
        if ok:
            WebhookSubscription.objects.filter(pk=delivery.subscription_id).exclude(
                failure_count=0
            ).update(failure_count=0)
        elif delivery.status == WebhookDelivery.FAILED and not final:
            _delivery_died(delivery.subscription_id, now)


def _delivery_died(subscription_id: int, now) -> None:
    WebhookSubscription.objects.filter(pk=subscription_id).update(
        failure_count=F("failure_count") + 1
    )
    subscription = (
        WebhookSubscription.objects.select_for_update(of=("self",))
        .select_related("api_key", "api_key__created_by")
        .get(pk=subscription_id)
    )
    if not subscription.active or subscription.failure_count < DISABLE_AFTER:
        return
    subscription.active = False
    subscription.disabled_at = now
    subscription.save(update_fields=["active", "disabled_at"])
    logger.warning("webhook subscription %s disabled after repeated failure", subscription.pk)
    _tell_owner(subscription)


def _tell_owner(subscription: WebhookSubscription) -> None:
    owner = subscription.api_key.created_by
    if owner is None or not owner.is_active:
        return
    try:
        from notifications.services import notify
    except ImportError:  # the notifications app is not installed
        logger.warning("nobody told of disabled webhook subscription %s", subscription.pk)
        return
    language = getattr(owner, "language", "") or None
    with translation.override(language):
        title = _("A webhook subscription was disabled")
        text = _(
            "The webhook subscription to %(url)s of the API key “%(key)s” failed "
            "%(count)s deliveries in a row, each after %(tries)s tries, and was "
            "disabled. Fix the receiver, then switch the subscription on again."
        ) % {
            "url": subscription.url,
            "key": subscription.api_key.name,
            "count": subscription.failure_count,
            "tries": MAX_ATTEMPTS,
        }
    notify(
        recipients=[owner],
        kind=NOTICE_KIND,
        obj=subscription,
        key=f"webhook-disabled:{subscription.disabled_at.isoformat()}",
        context={"title": str(title), "text": str(text), "subscription_id": subscription.pk},
    )
