"""A wellbeing-alert run publishes ``wellbeing.alert`` to the subscriptions whose key
covers each alert's neighbourhood: one delivery per alert and subscription, in the
queries of one, and nothing again on a re-run."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from residents.services import raise_wellbeing_alerts
from tests.residents.test_wellbeing import elder, event, hours_ago
from webhooks.models import WebhookDelivery
from webhooks.services import subscription_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriptions(key_a, key_b, dns):
    dns["hooks.example.org"] = ["93.184.216.34"]
    url = "https://hooks.example.org/in"
    return (
        subscription_create(api_key=key_a, url=url + "/a", events=["wellbeing.alert"]),
        subscription_create(api_key=key_b, url=url + "/b", events=["wellbeing.alert"]),
    )


def _raise(world, count, now):
    for _ in range(count):
        event(elder(world.a.dwelling), at=hours_ago(now, 60))
    with CaptureQueriesContext(connection) as run:
        assert raise_wellbeing_alerts(now=now) == count
    return len(run.captured_queries)


def test_each_alert_goes_to_the_keys_that_cover_it_once(world, subscriptions):
    a, b = subscriptions
    now = timezone.now()
    few = _raise(world, 2, now)
    many = _raise(world, 12, now + datetime.timedelta(minutes=1))
    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == 14
    assert {d.subscription_id for d in deliveries} == {a.pk}  # B's key is elsewhere
    assert {d.payload["data"]["neighbourhood_id"] for d in deliveries} == {world.a.neighbourhood.pk}
    assert "name" not in deliveries[0].payload["data"]  # ids and times only
    assert many <= few  # set-based: 12 alerts cost what 2 do
    raise_wellbeing_alerts(now=now + datetime.timedelta(minutes=2))
    assert WebhookDelivery.objects.count() == 14
