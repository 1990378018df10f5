"""A receiver verifies our deliveries with the off-the-shelf ``standardwebhooks`` package."""

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks import transport
from webhooks.services import delivery_attempt, publish, subscription_create
from webhooks.signing import SECRET_PREFIX, new_secret, secret_key, signed_headers


def test_a_secret_is_whsec_and_24_random_bytes():
    secret = new_secret()
    assert secret.startswith(SECRET_PREFIX)
    assert len(secret_key(secret)) == 24
    assert new_secret() != secret


def test_the_package_verifies_our_signature_and_rejects_tampering():
    secret = new_secret()
    body = json.dumps({"type": "wellbeing.alert", "timestamp": "x", "data": {"id": 1}}).encode()
    now = int(time.time())
    headers = signed_headers(secret, "msg_abc", now, body)
    receiver = Webhook(secret)

    assert receiver.verify(body, headers)["data"] == {"id": 1}
    with pytest.raises(WebhookVerificationError):
        receiver.verify(body.replace(b'"id": 1', b'"id": 2'), headers)
    with pytest.raises(WebhookVerificationError):
        receiver.verify(body, {**headers, "webhook-timestamp": str(now + 1)})
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_a_published_delivery_verifies_at_the_receiver(
    world, key_a, dns, monkeypatch, django_capture_on_commit_callbacks
):
    subscription = subscription_create(
        api_key=key_a, url="https://receiver.example.org/hook", events=["wellbeing.alert"]
    )
    sent = []

    def fake_request(target, body, headers, timeout):
        sent.append((target, body, headers))
        return 204, ""

    monkeypatch.setattr(transport, "request_once", fake_request)
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = publish(
            "wellbeing.alert", {"id": 7}, neighbourhood_id=world.a.neighbourhood.pk
        )
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.response_log[0]["status"] == 204

    target, body, headers = sent[0]
    assert target.addresses == ("93.184.216.34",) and target.host == "receiver.example.org"
    assert headers["webhook-id"] == delivery.event_id and delivery.event_id.startswith("msg_")
    message = Webhook(subscription.secret).verify(body, headers)
    assert message["type"] == "wellbeing.alert"
    assert message["data"] == {"id": 7}
    assert "timestamp" in message
    # a second run of the same task sends nothing
    assert delivery_attempt(delivery.pk) is None
    assert len(sent) == 1
