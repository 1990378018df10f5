"""A receiver that answers 500: retried with backoff, then dead; two dead deliveries in a
row disable the subscription and its key's creator is told. A real HTTP server on
127.0.0.1 (admitted by the allow-list for this test) receives every attempt."""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    delivery_attempt,
    publish,
    subscription_create,
    subscription_update,
)
from webhooks.tasks import deliver_due


class Receiver:
    def __init__(self, status):
        self.status = status
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.LINLI_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.LINLI_WEBHOOK_TIMEOUT = 5
    server = Receiver(500)
    yield server
    server.close()


def _run_until_dead(delivery, start):
    """Every attempt at the moment it falls due; returns the attempt times."""
    now = start
    times = []
    for _ in range(MAX_ATTEMPTS):
        assert delivery_attempt(delivery.pk, now=now) is not None
        times.append(now)
        delivery.refresh_from_db()
        if delivery.status != WebhookDelivery.PENDING:
            break
        # not due a second before its time
        assert (
            delivery_attempt(delivery.pk, now=delivery.next_attempt_at - timedelta(seconds=1))
            is None
        )
        now = delivery.next_attempt_at
    return times


def test_a_500_is_retried_with_backoff_then_the_subscription_disabled_and_the_owner_told(
    world, key_a, owner, receiver
):
    from notifications.models import Notification

    subscription = subscription_create(api_key=key_a, url=receiver.url, events=["wellbeing.alert"])
    (first,) = publish("wellbeing.alert", {"id": 1}, neighbourhood_id=world.a.neighbourhood.pk)
    times = _run_until_dead(first, timezone.now())
    first.refresh_from_db()
    assert first.status == WebhookDelivery.FAILED
    assert first.attempts == MAX_ATTEMPTS == 7
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert gaps == list(RETRY_DELAYS)
    assert times[-1] - times[0] < timedelta(days=1)
    assert [entry["status"] for entry in first.response_log] == [500] * 7
    assert len(receiver.requests) == 7
    # every attempt is signed with the same id and verifies
    for headers, body in receiver.requests:
        lowered = {k.lower(): v for k, v in headers.items()}
        assert lowered["webhook-id"] == first.event_id
        Webhook(subscription.secret).verify(body, lowered)

    subscription.refresh_from_db()
    assert subscription.active and subscription.failure_count == 1  # one dead: still on
    assert not Notification.objects.filter(recipient=owner).exists()

    (second,) = publish("wellbeing.alert", {"id": 2}, neighbourhood_id=world.a.neighbourhood.pk)
    _run_until_dead(second, times[-1] + timedelta(hours=1))
    subscription.refresh_from_db()
    assert not subscription.active and subscription.disabled_at is not None
    assert subscription.failure_count == 2
    notice = Notification.objects.get(recipient=owner)
    assert notice.kind == "account.notice"
    assert receiver.url in notice.body

    # a disabled subscription gets nothing more
    assert publish("wellbeing.alert", {"id": 3}, neighbourhood_id=world.a.neighbourhood.pk) == []
    # switched on again, its failures are forgotten
    subscription_update(subscription=subscription, active=True)
    subscription.refresh_from_db()
    assert (
        subscription.active and subscription.failure_count == 0 and subscription.disabled_at is None
    )


def test_a_success_between_dead_deliveries_keeps_the_subscription_on(world, key_a, receiver):
    subscription = subscription_create(api_key=key_a, url=receiver.url, events=["wellbeing.alert"])
    (first,) = publish("wellbeing.alert", {"id": 1}, neighbourhood_id=world.a.neighbourhood.pk)
    _run_until_dead(first, timezone.now())
    receiver.status = 200
    (ok,) = publish("wellbeing.alert", {"id": 2}, neighbourhood_id=world.a.neighbourhood.pk)
    assert delivery_attempt(ok.pk) == WebhookDelivery.DELIVERED
    subscription.refresh_from_db()
    assert subscription.failure_count == 0
    receiver.status = 503
    (third,) = publish("wellbeing.alert", {"id": 3}, neighbourhood_id=world.a.neighbourhood.pk)
    _run_until_dead(third, timezone.now())
    subscription.refresh_from_db()
    assert subscription.active and subscription.failure_count == 1


def test_beat_sends_what_the_broker_missed(world, key_a, receiver):
    """publish() outside on-commit execution: nothing queued; the beat job sends it."""
    receiver.status = 200
    subscription_create(api_key=key_a, url=receiver.url, events=["wellbeing.alert"])
    (delivery,) = publish("wellbeing.alert", {"id": 1}, neighbourhood_id=world.a.neighbourhood.pk)
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.PENDING
    assert deliver_due() == 1  # eager Celery in tests: sent at once
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.DELIVERED
    assert deliver_due() == 0


def test_publish_reaches_only_keys_whose_jurisdiction_holds_the_place(world, key_a, key_b, dns):
    url = "https://receiver.example.org/hook"
    a = subscription_create(api_key=key_a, url=url, events=["wellbeing.alert"])
    subscription_create(api_key=key_b, url=url, events=["wellbeing.alert"])
    deliveries = publish("wellbeing.alert", {"id": 1}, neighbourhood_id=world.a.neighbourhood.pk)
    assert [d.subscription_id for d in deliveries] == [a.pk]
    # a revoked key gets nothing
    from core.services import api_key_revoke

    api_key_revoke(api_key=key_a)
    assert publish("wellbeing.alert", {"id": 2}, neighbourhood_id=world.a.neighbourhood.pk) == []
    assert WebhookSubscription.objects.count() == 2
