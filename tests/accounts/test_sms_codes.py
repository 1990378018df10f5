"""Codes by text message: limits, expiry, single use, hashing, and the sign-up, sign-in
and password reset pages that use them."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import SmsCode, User
from accounts.sms_codes import (
    SmsCodeThrottled,
    code_hash,
    purge_codes,
    request_code,
    verify_code,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-linli-pass-7"
T0 = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def sent(monkeypatch):
    """Every text message, as (phone, message), instead of the SMS backend."""
    messages = []
    monkeypatch.setattr("core.sms.send_sms", lambda phone, msg: messages.append((phone, msg)))
    return messages


def last_code(sent) -> str:
    return re.search(r"(?<!\d)(\d{6})(?!\d)", sent[-1][1]).group(1)


def signed_in_id(client):
    return client.session.get("_auth_user_id")


# --- the service --------------------------------------------------------------------------


def test_a_code_expires_after_five_minutes(sent):
    request_code("13800000001", "signup", "10.0.0.1", now=T0)
    code = last_code(sent)
    late = T0 + datetime.timedelta(minutes=5, seconds=1)
    assert verify_code("13800000001", "signup", code, now=late) is False
    request_code("13800000001", "signup", "10.0.0.1", now=T0 + datetime.timedelta(minutes=2))
    code = last_code(sent)
    in_time = T0 + datetime.timedelta(minutes=6, seconds=59)
    assert verify_code("13800000001", "signup", code, now=in_time) is True


def test_a_code_works_once(sent):
    request_code("13800000001", "signup", "10.0.0.1", now=T0)
    code = last_code(sent)
    assert verify_code("13800000001", "signup", code, now=T0) is True
    assert verify_code("13800000001", "signup", code, now=T0) is False


def test_a_code_is_bound_to_its_number_and_purpose(sent):
    UserFactory(phone="13800000002")
    request_code("13800000001", "signup", "10.0.0.1", now=T0)
    code = last_code(sent)
    assert verify_code("13800000002", "signup", code, now=T0) is False
    assert verify_code("13800000001", "signin", code, now=T0) is False
    assert verify_code("13800000001", "signup", code, now=T0) is True


def test_only_the_newest_code_counts(sent):
    request_code("13800000001", "signup", "10.0.0.1", now=T0)
    first = last_code(sent)
    request_code("13800000001", "signup", "10.0.0.1", now=T0 + datetime.timedelta(seconds=61))
    second = last_code(sent)
    now = T0 + datetime.timedelta(seconds=70)
    if first != second:
        assert verify_code("13800000001", "signup", first, now=now) is False
    assert verify_code("13800000001", "signup", second, now=now) is True


def test_the_code_is_stored_hashed_never_in_clear(sent):
    row = request_code("13800000001", "signup", "10.0.0.1", now=T0)
    code = last_code(sent)
    row.refresh_from_db()
    stored = [str(value) for value in SmsCode.objects.filter(pk=row.pk).values().get().values()]
    assert not any(code in value for value in stored if value != row.phone)
    assert row.code_hash == code_hash("13800000001", "signup", code)
    assert len(row.code_hash) == 64
    assert row.client_ip == "10.0.0.1"
    assert row.expires_at == T0 + datetime.timedelta(minutes=5)


def test_five_wrong_codes_kill_the_code(sent):
    request_code("13800000001", "signup", "10.0.0.1", now=T0)
    code = last_code(sent)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert verify_code("13800000001", "signup", wrong, now=T0) is False
    assert verify_code("13800000001", "signup", code, now=T0) is False
    assert SmsCode.objects.get().attempts == 5


def test_one_code_a_minute_per_phone(sent):
    request_code("13800000001", "signup", "10.0.0.1", now=T0)
    with pytest.raises(SmsCodeThrottled) as caught:
        request_code("13800000001", "signin", "10.0.0.2", now=T0 + datetime.timedelta(seconds=30))
    assert caught.value.retry_at == T0 + datetime.timedelta(seconds=60)
    request_code("13800000001", "signup", "10.0.0.3", now=T0 + datetime.timedelta(seconds=61))
    assert len(sent) == 2


def test_five_codes_an_hour_per_phone(sent):
    for i in range(5):
        request_code(
            "13800000001", "signup", f"10.0.0.{i}", now=T0 + datetime.timedelta(minutes=2 * i)
        )
    with pytest.raises(SmsCodeThrottled) as caught:
        request_code("13800000001", "signup", "10.0.1.1", now=T0 + datetime.timedelta(minutes=30))
    assert caught.value.retry_at == T0 + datetime.timedelta(hours=1)
    request_code("13800000001", "signup", "10.0.1.1", now=T0 + datetime.timedelta(minutes=61))
    assert len(sent) == 6


def test_ten_codes_an_hour_per_address(sent):
    for i in range(10):
        request_code(f"1380000{i:04d}", "signup", "10.0.0.9", now=T0)
    with pytest.raises(SmsCodeThrottled):
        request_code("13900000099", "signup", "10.0.0.9", now=T0 + datetime.timedelta(minutes=5))
    # another address is not held up
    request_code("13900000099", "signup", "10.0.0.8", now=T0 + datetime.timedelta(minutes=5))
    request_code("13900000098", "signup", "10.0.0.9", now=T0 + datetime.timedelta(minutes=61))
    assert len(sent) == 12


def test_the_limits_follow_the_settings(sent, settings):
    settings.LINLI_SMS_CODE_ADDRESS_PER_HOUR = 2
    request_code("13800000001", "signup", "10.0.0.9", now=T0)
    request_code("13800000002", "signup", "10.0.0.9", now=T0)
    with pytest.raises(SmsCodeThrottled):
        request_code("13800000003", "signup", "10.0.0.9", now=T0)


def test_sign_up_for_a_number_with_an_account_sends_no_usable_code(sent):
    UserFactory(phone="13800000001")
    request_code("13800000001", "signup", "10.0.0.1", now=T0)
    assert len(sent) == 1
    assert not re.search(r"\d{6}", sent[0][1])
    row = SmsCode.objects.get()
    assert row.used_at is not None  # it counts for the limits, and cannot be used


def test_the_message_is_translated(sent, settings):
    from django.utils.translation import override

    with override("en"):
        request_code("13800000001", "signup", "10.0.0.1", now=T0)
    assert "valid for 5 minutes" in sent[-1][1]


# --- the pages: the same answer for a known and an unknown number -------------------------


def _phone_step(client, url, phone):
    return client.post(url, {"phone": phone})


@pytest.mark.parametrize(
    "url_name,code_step",
    [
        ("signup", "signup_code"),
        ("login_sms", "login_sms_code"),
        ("password_reset_sms", "password_reset_sms_code"),
    ],
)
def test_a_known_and_an_unknown_number_get_the_same_answer(client, sent, url_name, code_step):
    UserFactory(phone="13800000001")
    url = reverse(url_name)
    known = _phone_step(client, url, "13800000001")
    known_page = client.get(known["Location"])
    client.cookies.clear()
    unknown = _phone_step(client, url, "13800000002")
    unknown_page = client.get(unknown["Location"])

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse(code_step)
    assert known_page.status_code == unknown_page.status_code == 200
    normalise = lambda page: re.sub(r"1380000000\d|138\*\*\*\*000\d", "N", page.content.decode())  # noqa: E731
    strip_csrf = lambda text: re.sub(r'value="[A-Za-z0-9]{64}"', "", text)  # noqa: E731
    assert strip_csrf(normalise(known_page)) == strip_csrf(normalise(unknown_page))
    # one text message and one counted request each
    assert [phone for phone, _msg in sent] == ["13800000001", "13800000002"]
    assert SmsCode.objects.count() == 2


def test_a_throttled_request_answers_a_message_not_an_error(client, sent):
    url = reverse("signup")
    assert _phone_step(client, url, "13800000001").status_code == 302
    response = _phone_step(client, url, "13800000001")
    assert response.status_code == 429
    assert response.context["form"].non_field_errors()
    assert "13800000001" in response.content.decode()  # what was typed stays
    assert len(sent) == 1


def test_a_wrong_number_keeps_what_was_typed(client, sent):
    response = _phone_step(client, reverse("signup"), "12345")
    assert response.status_code == 400
    assert response.context["form"].errors["phone"]
    assert 'value="12345"' in response.content.decode()
    assert sent == []


def test_a_wrong_code_is_refused_with_a_message(client, sent):
    _phone_step(client, reverse("signup"), "13800000001")
    code = last_code(sent)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = client.post(reverse("signup_code"), {"code": wrong})
    assert response.status_code == 400
    assert response.context["form"].errors["code"]
    assert client.get(reverse("signup_details")).status_code == 302


# --- sign-up, sign-in and reset walk-throughs ----------------------------------------------


def test_sign_up_creates_the_account_and_lands_on_verification(client, sent):
    response = _phone_step(client, reverse("signup"), "+86 138 0000 0001")
    assert response["Location"] == reverse("signup_code")
    assert sent[0][0] == "13800000001"
    response = client.post(reverse("signup_code"), {"code": last_code(sent)})
    assert response["Location"] == reverse("signup_details")
    response = client.post(
        reverse("signup_details"),
        {"name": "王小明", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('me:verify')}?next=%2F"
    user = User.objects.get(phone="13800000001")
    assert user.name == "王小明"
    assert user.check_password(NEW_PASSWORD)
    assert not user.verified
    assert signed_in_id(client) == str(user.pk)
    assert client.get(response["Location"]).status_code == 200
    # the flow is over: the details step cannot be replayed
    assert client.get(reverse("signup_details")).status_code == 302


def test_sign_up_keeps_the_name_when_the_passwords_differ(client, sent):
    _phone_step(client, reverse("signup"), "13800000001")
    client.post(reverse("signup_code"), {"code": last_code(sent)})
    response = client.post(
        reverse("signup_details"),
        {"name": "王小明", "new_password1": NEW_PASSWORD, "new_password2": "other-pass-123"},
    )
    assert response.status_code == 400
    assert 'value="王小明"' in response.content.decode()
    assert not User.objects.filter(phone="13800000001").exists()


def test_sign_up_for_a_number_with_an_account_creates_nothing(client, sent):
    existing = UserFactory(phone="13800000001")
    _phone_step(client, reverse("signup"), "13800000001")
    guess = re.search(r"\d{6}", sent[-1][1])
    assert guess is None
    response = client.post(reverse("signup_code"), {"code": "123456"})
    assert response.status_code == 400
    assert User.objects.filter(phone="13800000001").get() == existing


def test_password_reset_by_code_changes_the_password(client, sent):
    user = UserFactory(phone="13800000001")
    _phone_step(client, reverse("password_reset_sms"), "13800000001")
    response = client.post(reverse("password_reset_sms_code"), {"code": last_code(sent)})
    assert response["Location"] == reverse("password_reset_sms_new")
    response = client.post(
        reverse("password_reset_sms_new"),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == reverse("login")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)
    assert client.get(reverse("password_reset_sms_new")).status_code == 302


def test_sign_in_by_code_signs_in(client, sent):
    user = UserFactory(phone="13800000001")
    response = client.post(reverse("login_sms") + "?next=/me/", {"phone": "13800000001"})
    assert response["Location"] == reverse("login_sms_code")
    response = client.post(reverse("login_sms_code"), {"code": last_code(sent)})
    assert response.status_code == 302
    assert response["Location"] == "/me/"
    assert signed_in_id(client) == str(user.pk)


def test_sign_in_by_code_still_asks_for_the_second_factor(client, sent):
    user = UserFactory(phone="13800000001", is_staff=True)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    _phone_step(client, reverse("login_sms"), "13800000001")
    response = client.post(reverse("login_sms_code"), {"code": last_code(sent)})
    assert response["Location"] == reverse("login_code")
    assert signed_in_id(client) is None


def test_sign_in_by_code_for_an_unknown_number_signs_in_nobody(client, sent):
    _phone_step(client, reverse("login_sms"), "13800000001")
    assert not re.search(r"\d{6}", sent[-1][1])
    response = client.post(reverse("login_sms_code"), {"code": "000000"})
    assert response.status_code == 400
    assert signed_in_id(client) is None


def test_the_sign_in_page_links_to_the_code_pages(client):
    body = client.get(reverse("login")).content.decode()
    assert reverse("login_sms") in body
    assert reverse("signup") in body
    assert reverse("password_reset_sms") in body


def test_the_code_step_without_a_phone_step_goes_back(client):
    assert client.get(reverse("signup_code"))["Location"] == reverse("signup")
    assert client.get(reverse("login_sms_code"))["Location"] == reverse("login_sms")


def test_real_clock_default(sent):
    request_code("13800000001", "signup", None)
    row = SmsCode.objects.get()
    assert abs((row.created_at - timezone.now()).total_seconds()) < 5
    assert row.client_ip is None


def test_old_rows_are_purged(sent):
    request_code("13800000001", "signup", None, now=T0)
    request_code("13800000002", "signup", None, now=T0 + datetime.timedelta(hours=23))
    assert purge_codes(now=T0 + datetime.timedelta(hours=25)) == 1
    assert list(SmsCode.objects.values_list("phone", flat=True)) == ["13800000002"]


def test_a_failing_backend_answers_a_message_and_still_counts(client, monkeypatch):
    from core.sms import SmsError

    def fail(phone, message):
        raise SmsError("gateway down")

    monkeypatch.setattr("core.sms.send_sms", fail)
    response = client.post(reverse("signup"), {"phone": "13800000001"})
    assert response.status_code == 503
    assert response.context["form"].non_field_errors()
    row = SmsCode.objects.get()
    assert row.used_at is not None


@pytest.mark.django_db
def test_the_purge_task_is_scheduled_and_deletes_old_codes(settings):
    from accounts.models import SmsCode
    from accounts.tasks import PURGE_SMS_CODES_TASK, purge_sms_codes

    assert settings.CELERY_BEAT_SCHEDULE["sms-code-purge"]["task"] == PURGE_SMS_CODES_TASK
    old = timezone.now() - datetime.timedelta(days=2)
    SmsCode.objects.create(phone="13912345678", purpose="signup", code_hash="x", expires_at=old)
    SmsCode.objects.filter(phone="13912345678").update(created_at=old)
    assert purge_sms_codes.delay().get() == 1
