"""notify(), channels, exactly-once, quiet hours, retries and the outbox."""

import datetime as dt
import logging
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import transaction
from kombu.exceptions import OperationalError

from accounts.models import User
from core.sms import SmsError
from notifications import tasks
from notifications.apps import ACCOUNT_NOTICE
from notifications.kinds import EMAIL, INBOX, SMS, get_kind, kinds
from notifications.models import Delivery, Notification, OutboxEntry, Preference
from notifications.outbox import dispatch
from notifications.quiet import quiet_until
from notifications.services import notify
from tests.factories import UserFactory

from .conftest import SAMPLE, require_translation

SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(day, hour, minute=0):
    return dt.datetime(2026, 1, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def resident():
    return UserFactory(phone="13800000001", email="a@example.org", name="张三")


def _sms_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "linli.sms"]


def test_registry_holds_the_account_notice():
    kind = get_kind(ACCOUNT_NOTICE)
    assert kind.optional is False and kind.default_channels == (INBOX,)
    assert kind in kinds()
    with pytest.raises(LookupError):
        get_kind("no.such.kind")


def test_notify_writes_inbox_and_outbox_then_dispatch_sends_each_channel(
    resident, sample_kind, caplog
):
    caplog.set_level(logging.INFO, logger="linli.sms")
    with transaction.atomic():
        rows = notify(recipients=[resident], kind=SAMPLE, context={"title": "三号楼电梯年检"})
    assert [n.subject for n in rows] == ["三号楼电梯年检"]
    assert OutboxEntry.objects.filter(dispatched_at__isnull=True).count() == 2
    assert mail.outbox == [] and _sms_lines(caplog) == []

    counts = dispatch()
    assert counts["dispatched"] == 2
    [line] = _sms_lines(caplog)
    assert line.startswith("SMS to 138****0001: ") and line.endswith("】三号楼电梯年检")
    assert "13800000001" not in line
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["a@example.org"]
    assert set(Delivery.objects.values_list("channel", "status")) == {
        (INBOX, "sent"),
        (SMS, "sent"),
        (EMAIL, "sent"),
    }


def test_a_rerun_with_the_same_key_sends_nothing_twice(resident, sample_kind, caplog):
    caplog.set_level(logging.INFO, logger="linli.sms")
    first = notify(recipients=[resident], kind=SAMPLE, obj=resident, key="2026-01")
    dispatch()
    second = notify(recipients=[resident], kind=SAMPLE, obj=resident, key="2026-01")
    dispatch()
    assert [n.pk for n in second] == [n.pk for n in first]
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 3
    assert len(_sms_lines(caplog)) == 1 and len(mail.outbox) == 1
    # another key (the next cycle) is a new notice
    notify(recipients=[resident], kind=SAMPLE, obj=resident, key="2026-02")
    dispatch()
    assert Notification.objects.count() == 2 and len(mail.outbox) == 2


def test_the_deliver_task_run_twice_sends_once(resident, sample_kind):
    notify(recipients=[resident], kind=SAMPLE)
    email = Delivery.objects.get(channel=EMAIL)
    tasks.deliver(email.pk)
    tasks.deliver(email.pk)
    dispatch()  # the outbox hands it over a third time
    assert len(mail.outbox) == 1
    assert Delivery.objects.get(pk=email.pk).attempts == 1


def test_missing_or_invalid_phone_and_missing_email_are_skipped_with_a_reason(sample_kind):
    user = UserFactory(email="")
    User.objects.filter(pk=user.pk).update(phone="12345")
    user.refresh_from_db()
    notify(recipients=[user], kind=SAMPLE)
    dispatch()
    skipped = dict(Delivery.objects.filter(status="skipped").values_list("channel", "last_error"))
    assert skipped == {SMS: "no valid mainland mobile number", EMAIL: "no e-mail address"}
    assert Notification.objects.filter(recipient=user).count() == 1


def test_a_kind_turned_off_sends_nothing_on_that_channel(resident, sample_kind, caplog):
    caplog.set_level(logging.INFO, logger="linli.sms")
    Preference.objects.create(user=resident, kind=SAMPLE, channel=SMS, enabled=False)
    notify(recipients=[resident], kind=SAMPLE)
    dispatch()
    assert _sms_lines(caplog) == []
    assert not Delivery.objects.filter(channel=SMS).exists()
    assert len(mail.outbox) == 1


def test_a_kind_that_is_not_optional_ignores_preferences(resident):
    Preference.objects.create(user=resident, kind=ACCOUNT_NOTICE, channel=SMS, enabled=True)
    notify(recipients=[resident], kind=ACCOUNT_NOTICE, context={"title": "订阅已停用"})
    assert list(Delivery.objects.values_list("channel", flat=True)) == [INBOX]


def test_quiet_hours_end_at_eight_local_time(settings):
    settings.LINLI_SMS_QUIET_HOURS = "21:00-08:00"
    assert quiet_until(at(5, 22, 30)) == at(6, 8)
    assert quiet_until(at(6, 3)) == at(6, 8)
    assert quiet_until(at(6, 8)) is None
    assert quiet_until(at(6, 20, 59)) is None
    assert quiet_until(at(6, 21)) == at(7, 8)


def test_an_sms_in_quiet_hours_is_held_until_eight(resident, sample_kind, settings, caplog):
    settings.LINLI_SMS_QUIET_HOURS = "21:00-08:00"
    caplog.set_level(logging.INFO, logger="linli.sms")
    notify(recipients=[resident], kind=SAMPLE, now=at(5, 22, 30))
    sms = Delivery.objects.get(channel=SMS)
    assert sms.status == "held" and sms.send_after == at(6, 8)

    dispatch(now=at(5, 22, 30))
    dispatch(now=at(6, 7, 59))
    assert _sms_lines(caplog) == []
    assert len(mail.outbox) == 1  # e-mail has no quiet hours

    dispatch(now=at(6, 8))
    dispatch(now=at(6, 8, 1))
    assert len(_sms_lines(caplog)) == 1
    assert Delivery.objects.get(pk=sms.pk).status == "sent"


class FailingBackend:
    calls = 0

    def send(self, phone, message):
        FailingBackend.calls += 1
        raise SmsError("gateway answered 503")


def test_a_failed_send_is_retried_with_backoff_then_given_up(resident, sample_kind, settings):
    settings.LINLI_SMS_BACKEND = "tests.notifications.test_delivery.FailingBackend"
    settings.LINLI_NOTIFICATION_MAX_ATTEMPTS = 3
    FailingBackend.calls = 0
    start = at(6, 10)
    notify(recipients=[resident], kind=SAMPLE, now=start)
    dispatch(now=start)
    sms = Delivery.objects.get(channel=SMS)
    assert (sms.status, sms.attempts) == ("pending", 1)
    assert sms.send_after == start + dt.timedelta(seconds=60)
    assert "503" in sms.last_error

    dispatch(now=start + dt.timedelta(seconds=30))  # not yet
    assert FailingBackend.calls == 1
    dispatch(now=start + dt.timedelta(seconds=61))
    sms.refresh_from_db()
    assert (sms.attempts, sms.send_after) == (2, start + dt.timedelta(seconds=61 + 120))
    dispatch(now=start + dt.timedelta(seconds=200))
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.send_after) == ("failed", 3, None)
    dispatch(now=start + dt.timedelta(days=1))
    assert FailingBackend.calls == 3


def test_with_the_broker_down_the_action_succeeds_and_the_notice_goes_out_once_later(
    resident, sample_kind, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger="linli.sms")
    down = OperationalError("Error 111 connecting to redis:6379. Connection refused.")
    with (
        mock.patch.object(tasks.deliver, "apply_async", side_effect=down),
        mock.patch.object(tasks.dispatch_outbox, "apply_async", side_effect=down),
        django_capture_on_commit_callbacks(execute=True),
    ):
        with transaction.atomic():
            rows = notify(recipients=[resident], kind=SAMPLE, context={"title": "停水通知"})
        dispatch()  # beat runs while the broker is still away
    assert rows and Notification.objects.count() == 1
    assert _sms_lines(caplog) == [] and mail.outbox == []
    waiting = OutboxEntry.objects.get(payload__delivery_id=Delivery.objects.get(channel=SMS).pk)
    assert waiting.dispatched_at is None and waiting.attempts >= 1

    # the broker is back: the next beat drains the outbox, once
    dispatch()
    dispatch()
    assert len(_sms_lines(caplog)) == 1 and len(mail.outbox) == 1
    assert not OutboxEntry.objects.filter(dispatched_at__isnull=True).exists()


def test_notify_renders_in_the_recipients_language(sample_kind):
    require_translation("A notice about your Linli account")
    zh = UserFactory(language="zh-hans")
    en = UserFactory(language="en")
    rows = notify(recipients=[zh, en], kind=SAMPLE)
    subjects = {n.recipient_id: n.subject for n in rows}
    assert subjects[zh.pk] == "关于您邻里账号的通知"
    assert subjects[en.pk] == "A notice about your Linli account"


def test_notify_costs_the_same_queries_for_one_recipient_or_many(
    sample_kind, django_assert_max_num_queries
):
    one = [UserFactory()]
    many = [UserFactory() for _ in range(10)]  # one insert batch on SQLite too
    with django_assert_max_num_queries(10) as first:
        notify(recipients=one, kind=SAMPLE)
    with django_assert_max_num_queries(len(first.captured_queries)):
        notify(recipients=many, kind=SAMPLE)
    assert Delivery.objects.count() == 3 * 11
