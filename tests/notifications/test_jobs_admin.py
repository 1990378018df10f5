"""Job runs, purge, digest, SMS backends, and what the admin shows whom."""

import datetime as dt
import logging
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core.sms import (
    ConsoleSmsBackend,
    HttpGatewaySmsBackend,
    SmsError,
    send_sms,
    valid_mainland_mobile,
)
from notifications.apps import ACCOUNT_NOTICE
from notifications.jobs import job_run
from notifications.kinds import EMAIL
from notifications.maintenance import purge_notifications, send_digests
from notifications.models import Delivery, JobRun, JobRunPlace, Notification, Preference
from notifications.outbox import dispatch
from notifications.services import notify
from tests.factories import UserFactory

from .conftest import SAMPLE

pytestmark = pytest.mark.django_db


def test_job_run_records_counts_places_and_errors(world):
    with job_run("tests.job") as run:
        run.count("sent", 2, neighbourhood=world.a.neighbourhood)
        run.count("sent", 1, neighbourhood=world.b.neighbourhood)
    run.refresh_from_db()
    assert run.status == "ok" and run.finished_at and run.counts == {"sent": 3}
    shares = dict(JobRunPlace.objects.values_list("neighbourhood_id", "counts"))
    assert shares == {world.a.neighbourhood.pk: {"sent": 2}, world.b.neighbourhood.pk: {"sent": 1}}

    with pytest.raises(RuntimeError), job_run("tests.job") as failing:
        raise RuntimeError("gateway exploded")
    failing.refresh_from_db()
    assert failing.status == "failed" and "gateway exploded" in failing.errors


def test_purge_deletes_notifications_past_the_keeping_time(settings):
    settings.LINLI_NOTIFICATION_KEEP_DAYS = 180
    user = UserFactory()
    now = timezone.now()
    notify(recipients=[user], kind=ACCOUNT_NOTICE, key="old", now=now - dt.timedelta(days=181))
    notify(recipients=[user], kind=ACCOUNT_NOTICE, key="new", now=now - dt.timedelta(days=179))
    assert purge_notifications(now=now) == 1
    assert Notification.objects.count() == 1
    assert JobRun.objects.filter(name="notifications.purge", status="ok").exists()


def test_the_daily_digest_gathers_every_kind_once_a_day(sample_kind):
    user = UserFactory(email="d@example.org")
    Preference.objects.create(user=user, kind="*", channel="email_digest", enabled=True)
    now = timezone.now()
    notify(recipients=[user], kind=SAMPLE, context={"title": "电梯年检"}, now=now)
    notify(recipients=[user], kind=ACCOUNT_NOTICE, context={"title": "订阅停用"}, now=now)
    dispatch()
    assert mail.outbox == []  # single e-mails wait for the digest
    assert Delivery.objects.get(kind=SAMPLE, channel=EMAIL).last_error == "in the daily digest"

    later = now + dt.timedelta(hours=1)
    assert send_digests(now=later) == 1
    dispatch()
    assert send_digests(now=later) == 0
    dispatch()
    assert len(mail.outbox) == 1
    assert "电梯年检" in mail.outbox[0].body and "订阅停用" in mail.outbox[0].body


def test_sms_numbers_and_backends(settings, caplog):
    assert valid_mainland_mobile("13800000001")
    for bad in ("", None, "12800000001", "1380000000", "138000000011", "+8613800000001x"):
        assert not valid_mainland_mobile(bad)
    with pytest.raises(SmsError):
        send_sms("123", "x")
    caplog.set_level(logging.INFO, logger="linli.sms")
    ConsoleSmsBackend().send("13800000001", "验证码 123456")
    assert caplog.records[-1].getMessage() == "SMS to 138****0001: 验证码 123456"

    settings.LINLI_SMS_GATEWAY_URL = "https://sms.example.org/send"
    settings.LINLI_SMS_GATEWAY_USER = "linli"
    settings.LINLI_SMS_GATEWAY_PASSWORD = "pw"  # noqa: S105
    settings.LINLI_SMS_GATEWAY_TEMPLATE = "to=$phone&text=$message&sign=linli"
    backend = HttpGatewaySmsBackend()
    answer = mock.MagicMock()
    answer.__enter__.return_value.status = 200
    with mock.patch("core.sms.request.urlopen", return_value=answer) as urlopen:
        backend.send("13800000001", "你好")
    sent = urlopen.call_args.args[0]
    assert sent.full_url == "https://sms.example.org/send"
    assert b"to=13800000001" in sent.data and b"sign=linli" in sent.data
    assert sent.get_header("Authorization").startswith("Basic ")
    with (
        mock.patch("core.sms.request.urlopen", side_effect=TimeoutError()),
        pytest.raises(SmsError),
    ):
        backend.send("13800000001", "你好")
    answer.__enter__.return_value.status = 500
    with (
        mock.patch("core.sms.request.urlopen", return_value=answer),
        pytest.raises(SmsError),
    ):
        backend.send("13800000001", "你好")


def test_a_cadre_sees_only_the_deliveries_and_job_runs_of_their_places(world, login, superuser):
    for cadre in (world.a.cadre, world.b.cadre):
        cadre.is_staff = True
        cadre.save(update_fields=["is_staff"])
    notify(recipients=[world.a.cadre], kind=ACCOUNT_NOTICE, neighbourhood=world.a.neighbourhood)
    theirs = Delivery.objects.get(recipient=world.a.cadre)
    with job_run("tests.job") as run:
        run.count("sent", neighbourhood=world.a.neighbourhood)
    share = JobRunPlace.objects.get()

    client = login(world.b.cadre)
    assert client.get(reverse("admin:notifications_delivery_changelist")).status_code == 200
    changelist = client.get(reverse("admin:notifications_delivery_changelist"))
    assert changelist.context["cl"].result_count == 0
    url = reverse("admin:notifications_delivery_change", args=[theirs.pk])
    assert client.get(url).status_code == 404
    share_url = reverse("admin:notifications_jobrunplace_change", args=[share.pk])
    assert client.get(share_url).status_code == 404
    run_url = reverse("admin:notifications_jobrun_change", args=[run.pk])
    assert client.get(run_url).status_code in (403, 302)

    client = login(world.a.cadre)
    assert client.get(url).status_code == 200
    assert client.get(share_url).status_code == 200
    assert client.get(run_url).status_code in (403, 302)

    client = login(superuser)
    assert client.get(run_url).status_code == 200
