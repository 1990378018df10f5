"""Two notify() calls and two deliver tasks racing (PostgreSQL, real parallel connections)."""

import logging

import pytest
from django.db import transaction

from notifications.delivery import deliver
from notifications.kinds import SMS
from notifications.models import Delivery, Notification
from notifications.services import notify
from tests.concurrency import postgres_only, run_together  # noqa: F401 - fixture
from tests.factories import UserFactory

from .conftest import SAMPLE

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_racing_notify_calls_record_one_notice(postgres_only, sample_kind):  # noqa: F811
    user = UserFactory()

    def call():
        with transaction.atomic():
            return [n.pk for n in notify(recipients=[user], kind=SAMPLE, key="race")]

    first, second = run_together(call, call)
    assert not isinstance(first, Exception) and not isinstance(second, Exception)
    assert first == second
    assert Notification.objects.count() == 1
    assert Delivery.objects.filter(channel=SMS).count() == 1


def test_two_racing_deliver_tasks_send_once(postgres_only, sample_kind, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="linli.sms")
    user = UserFactory()
    notify(recipients=[user], kind=SAMPLE)
    sms = Delivery.objects.get(channel=SMS)
    results = run_together(lambda: deliver(sms.pk), lambda: deliver(sms.pk))
    assert results == ["sent", "sent"]
    assert len([r for r in caplog.records if r.name == "linli.sms"]) == 1
    assert Delivery.objects.get(pk=sms.pk).attempts == 1
