"""Account pages: phone login, lockout, logout, passwords, two-factor, language, profile."""

import base64
import re

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.forms.forms import NON_FIELD_ERRORS
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import override
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.forms import PhoneAuthenticationForm
from accounts.validators import validate_mobile
from accounts.views import ENROL_KEY, PENDING_LOGIN
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def spaced(phone: str) -> str:
    """13900000001 -> '+86 139 0000 0001', as people type it."""
    return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"


def zh(message) -> str:
    """A message as the zh-hans page renders it (escaped)."""
    with override("zh-hans"):
        return escape(str(message))


def signed_in_id(client):
    return client.session.get("_auth_user_id")


def token_for(device_or_key, *, offset: int = 0) -> str:
    key = device_or_key.bin_key if hasattr(device_or_key, "bin_key") else device_or_key
    totp = TOTP(key)
    totp.drift = offset
    return f"{totp.token():06d}"


# --- login ----------------------------------------------------------------------------


def test_login_page_renders_with_phone_field(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body
    assert 'inputmode="tel"' in body
    # the +86 form must fit in the field
    assert 'maxlength="11"' not in body


def test_login_by_phone_with_plus86_and_spaces(client):
    user = UserFactory()
    response = client.post(LOGIN, {"username": spaced(user.phone), "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in_id(client) == str(user.pk)


def test_login_follows_a_safe_next_only(client):
    user = UserFactory()
    response = client.post(
        LOGIN, {"username": user.phone, "password": PASSWORD, "next": "/accounts/profile/"}
    )
    assert response["Location"] == "/accounts/profile/"
    client.logout()
    response = client.post(
        LOGIN, {"username": user.phone, "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")


def test_malformed_phone_is_refused_with_a_clear_error(client):
    user = UserFactory()
    response = client.post(LOGIN, {"username": "1234 5678", "password": PASSWORD})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("username", code="invalid_mobile")
    # the validator's own (translated) words reach the page
    try:
        validate_mobile("12345678")
    except Exception as exc:  # noqa: BLE001
        expected = exc.messages[0]
    assert zh(expected) in response.content.decode()
    assert signed_in_id(client) is None
    assert user.phone  # the account exists; the number typed was simply malformed


def test_wrong_password_gives_a_generic_error(client):
    user = UserFactory()
    wrong = client.post(LOGIN, {"username": user.phone, "password": "not-the-password"})
    unknown = client.post(LOGIN, {"username": "13312345678", "password": "not-the-password"})
    for response in (wrong, unknown):
        assert response.status_code == 200
        form = response.context["form"]
        assert form.has_error(NON_FIELD_ERRORS, code="invalid_login")
        assert zh(PhoneAuthenticationForm.error_messages["invalid_login"]) in (
            response.content.decode()
        )
    assert signed_in_id(client) is None


def test_login_activates_the_saved_language(client):
    user = UserFactory(language="en")
    response = client.post(LOGIN, {"username": user.phone, "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client.get(reverse("home"))
    assert '<html lang="en">' in page.content.decode()


def test_lockout_after_five_failures_shows_the_locked_page(client, settings):
    settings.AXES_ENABLED = True
    assert settings.AXES_FAILURE_LIMIT == 5
    user = UserFactory()
    for _attempt in range(4):
        response = client.post(LOGIN, {"username": spaced(user.phone), "password": "wrong"})
        assert response.status_code == 200
    fifth = client.post(LOGIN, {"username": user.phone, "password": "wrong"})
    assert fifth.status_code in (403, 429)
    assert "registration/locked_out.html" in [t.name for t in fifth.templates]
    body = fifth.content.decode()
    assert 'role="alert"' in body
    assert re.search(r"\b30\b", body), "the page says when to retry (30 minutes)"

    # Even the right password is refused while the lock lasts.
    locked = client.post(LOGIN, {"username": user.phone, "password": PASSWORD})
    assert locked.status_code in (403, 429)
    assert signed_in_id(client) is None


def test_another_account_is_not_locked(client, settings):
    settings.AXES_ENABLED = True
    victim, other = UserFactory(), UserFactory()
    for _attempt in range(5):
        client.post(LOGIN, {"username": victim.phone, "password": "wrong"})
    response = client.post(LOGIN, {"username": other.phone, "password": PASSWORD})
    assert response.status_code == 302
    assert signed_in_id(client) == str(other.pk)


def test_logout_is_a_post(client):
    user = UserFactory()
    client.post(LOGIN, {"username": user.phone, "password": PASSWORD})
    assert client.get("/accounts/logout/").status_code == 405
    assert signed_in_id(client) == str(user.pk)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert signed_in_id(client) is None


# --- passwords ------------------------------------------------------------------------


def test_password_change(client, login):
    user = UserFactory()
    login(user)
    assert client.get("/accounts/password/change/").status_code == 200
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-secret-42",
            "new_password2": "a-much-longer-secret-42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password("a-much-longer-secret-42")
    assert signed_in_id(client) == str(user.pk)  # the session survives the change


def test_password_change_needs_the_old_password(client, login):
    user = UserFactory()
    login(user)
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": "wrong",
            "new_password1": "a-much-longer-secret-42",
            "new_password2": "a-much-longer-secret-42",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].has_error("old_password", code="password_incorrect")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_reset_by_email(client):
    user = UserFactory(email="wang@example.org")
    response = client.post("/accounts/password/reset/", {"email": "WANG@example.org"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["wang@example.org"]
    assert user.phone not in message.body  # only the masked number
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/\S+/)", message.body)
    assert link, message.body

    # The link leads to a form that sets the new password.
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {"new_password1": "another-long-secret-77", "new_password2": "another-long-secret-77"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-secret-77")


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client):
    UserFactory(email="wang@example.org")
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


# --- language and profile -------------------------------------------------------------


def test_language_switch_persists_to_the_user(client, login):
    user = UserFactory()
    login(user)
    response = client.post("/accounts/language/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    user.refresh_from_db()
    assert user.language == "en"
    assert '<html lang="en">' in client.get("/").content.decode()


def test_language_switch_for_anonymous_sets_only_the_cookie(client):
    response = client.post("/accounts/language/", {"language": "en", "next": "/"})
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert '<html lang="en">' in client.get("/").content.decode()


def test_language_switch_ignores_an_unknown_language(client, login):
    user = UserFactory()
    login(user)
    client.post("/accounts/language/", {"language": "xx", "next": "/"})
    user.refresh_from_db()
    assert user.language == "zh-hans"


def test_header_has_a_post_language_form_with_a_button(client):
    body = client.get("/").content.decode()
    form = re.search(
        r'<form class="lang-switch" method="post" action="([^"]+)">(.*?)</form>', body, re.S
    )
    assert form and form.group(1) == reverse("language")
    assert 'name="language"' in form.group(2)
    assert 'type="submit"' in form.group(2)  # works without JavaScript
    assert "csrfmiddlewaretoken" in form.group(2)


def test_profile_edits_name_email_and_language(client, login):
    user = UserFactory()
    login(user)
    assert client.get("/accounts/profile/").status_code == 200
    response = client.post(
        "/accounts/profile/", {"name": "王小明", "email": "wang@example.org", "language": "en"}
    )
    assert response.status_code == 302
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    user.refresh_from_db()
    assert (user.name, user.email, user.language) == ("王小明", "wang@example.org", "en")


def test_profile_needs_sign_in(client):
    response = client.get("/accounts/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


# --- two-factor: enrolment ------------------------------------------------------------


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, name="社工")


def test_enrol_page_shows_qr_svg_and_secret(client, login, staff):
    login(staff)
    response = client.get("/accounts/two-factor/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'src="data:image/svg+xml' in body
    key = client.session[ENROL_KEY]
    secret = response.context["secret"]
    assert secret in body
    # the secret typed by hand is the same key, in base32
    padded = secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8)
    assert base64.b32decode(padded).hex() == key
    # nothing is stored until the code is confirmed
    assert not TOTPDevice.objects.filter(user=staff).exists()
    # the same secret is shown again on reload
    client.get("/accounts/two-factor/")
    assert client.session[ENROL_KEY] == key


def test_enrol_with_a_wrong_code_is_refused(client, login, staff):
    login(staff)
    client.get("/accounts/two-factor/")
    key = client.session[ENROL_KEY]
    right = token_for(bytes.fromhex(key))
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/two-factor/", {"token": wrong})
    assert response.status_code == 200
    assert response.context["form"].has_error("token", code="wrong_token")
    assert not TOTPDevice.objects.filter(user=staff).exists()


def test_enrol_with_the_right_code_confirms_and_verifies_the_session(client, login, staff):
    login(staff)
    client.get("/accounts/two-factor/")
    key = client.session[ENROL_KEY]
    response = client.post("/accounts/two-factor/", {"token": token_for(bytes.fromhex(key))})
    assert response.status_code == 302
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed and device.key == key
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert ENROL_KEY not in client.session
    # the page now offers removal instead of enrolment
    assert "accounts/two_factor_manage.html" in [
        t.name for t in client.get("/accounts/two-factor/").templates
    ]


def test_two_factor_enrolment_is_for_staff(client, login):
    login(UserFactory())
    assert client.get("/accounts/two-factor/").status_code == 403


def test_remove_device_needs_the_password(client, login, staff):
    login(staff)
    client.get("/accounts/two-factor/")
    key = client.session[ENROL_KEY]
    client.post("/accounts/two-factor/", {"token": token_for(bytes.fromhex(key))})

    refused = client.post("/accounts/two-factor/", {"password": "wrong"})
    assert refused.status_code == 200
    assert refused.context["form"].has_error("password", code="password_incorrect")
    assert TOTPDevice.objects.filter(user=staff).exists()

    removed = client.post("/accounts/two-factor/", {"password": PASSWORD})
    assert removed.status_code == 302
    assert not TOTPDevice.objects.filter(user=staff).exists()


def test_remove_device_needs_a_verified_session(client, login, staff):
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    login(staff)  # signed in without a code
    response = client.post("/accounts/two-factor/", {"password": PASSWORD})
    assert response.status_code == 200
    assert TOTPDevice.objects.filter(user=staff).exists()


# --- two-factor: login ----------------------------------------------------------------


@pytest.fixture
def staff_with_device(staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    return staff, device


def test_login_with_a_device_asks_for_the_code_first(client, staff_with_device):
    staff, device = staff_with_device
    response = client.post(LOGIN, {"username": spaced(staff.phone), "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("login_code")
    assert signed_in_id(client) is None
    assert client.session[PENDING_LOGIN]["user_id"] == staff.pk
    assert client.get(reverse("login_code")).status_code == 200

    done = client.post(reverse("login_code"), {"token": token_for(device)})
    assert done.status_code == 302
    assert done["Location"] == reverse("home")
    assert signed_in_id(client) == str(staff.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert PENDING_LOGIN not in client.session


def test_login_code_step_refuses_a_wrong_code(client, staff_with_device):
    staff, device = staff_with_device
    client.post(LOGIN, {"username": staff.phone, "password": PASSWORD})
    right = token_for(device)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    response = client.post(reverse("login_code"), {"token": wrong})
    assert response.status_code == 200
    assert response.context["form"].has_error("token")
    assert signed_in_id(client) is None


def test_login_code_step_gives_up_after_repeated_wrong_codes(client, staff_with_device, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # isolate the session counter from throttling
    settings.AXES_ENABLED = False
    staff, device = staff_with_device
    client.post(LOGIN, {"username": staff.phone, "password": PASSWORD})
    wrong = f"{(int(token_for(device)) + 500_000) % 1_000_000:06d}"
    for _attempt in range(4):
        assert client.post(reverse("login_code"), {"token": wrong}).status_code == 200
    response = client.post(reverse("login_code"), {"token": wrong})
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert PENDING_LOGIN not in client.session
    # the right code no longer helps: the password step must be done again
    again = client.post(reverse("login_code"), {"token": token_for(device)})
    assert again.status_code == 302 and again["Location"] == reverse("login")
    assert signed_in_id(client) is None


def test_wrong_codes_count_towards_the_lockout(client, staff_with_device, settings):
    settings.AXES_ENABLED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    staff, device = staff_with_device
    for _attempt in range(4):
        client.post(LOGIN, {"username": staff.phone, "password": "wrong"})
    client.post(LOGIN, {"username": staff.phone, "password": PASSWORD})
    wrong = f"{(int(token_for(device)) + 500_000) % 1_000_000:06d}"
    response = client.post(reverse("login_code"), {"token": wrong})
    assert response.status_code in (403, 429)
    assert "registration/locked_out.html" in [t.name for t in response.templates]


def test_login_code_page_without_a_pending_login_goes_back_to_login(client):
    response = client.get(reverse("login_code"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_a_used_code_cannot_be_replayed(client, staff_with_device):
    staff, device = staff_with_device
    token = token_for(device)
    client.post(LOGIN, {"username": staff.phone, "password": PASSWORD})
    client.post(reverse("login_code"), {"token": token})
    client.post("/accounts/logout/")
    client.post(LOGIN, {"username": staff.phone, "password": PASSWORD})
    response = client.post(reverse("login_code"), {"token": token})
    assert response.status_code == 200
    assert signed_in_id(client) is None


# --- two-factor: required for staff ---------------------------------------------------


def test_not_required_lets_unverified_staff_in(client, login, settings, staff):
    settings.LINLI_STAFF_2FA_REQUIRED = False
    login(staff)
    response = client.get("/admin/")
    assert response.status_code == 200


def test_required_sends_staff_without_device_to_enrolment(client, login, settings, staff):
    settings.LINLI_STAFF_2FA_REQUIRED = True
    login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/?next=%2Fadmin%2F"
    # the home page is a staff page too
    assert client.get("/")["Location"].startswith("/accounts/two-factor/")


def test_required_sends_staff_with_device_to_verification(client, login, settings, staff):
    settings.LINLI_STAFF_2FA_REQUIRED = True
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/verify/?next=%2Fadmin%2F"


def test_required_grants_access_after_enrolling(client, login, settings, staff):
    settings.LINLI_STAFF_2FA_REQUIRED = True
    login(staff)
    client.get("/accounts/two-factor/?next=/admin/")
    key = client.session[ENROL_KEY]
    response = client.post(
        "/accounts/two-factor/", {"token": token_for(bytes.fromhex(key)), "next": "/admin/"}
    )
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_required_grants_access_after_verifying(client, login, settings, staff):
    settings.LINLI_STAFF_2FA_REQUIRED = True
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    login(staff)
    wrong = f"{(int(token_for(device)) + 500_000) % 1_000_000:06d}"
    refused = client.post("/accounts/two-factor/verify/", {"token": wrong, "next": "/admin/"})
    assert refused.status_code == 200
    assert client.get("/admin/").status_code == 302

    device.refresh_from_db()
    device.throttle_reset()
    response = client.post(
        "/accounts/two-factor/verify/", {"token": token_for(device), "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_required_leaves_account_pages_probes_and_api_alone(client, login, settings, staff):
    settings.LINLI_STAFF_2FA_REQUIRED = True
    login(staff)
    assert client.get("/accounts/profile/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/").status_code != 302
    logout = client.post("/accounts/logout/")
    assert logout["Location"] == reverse("home")


def test_required_does_not_touch_residents(client, login, settings):
    settings.LINLI_STAFF_2FA_REQUIRED = True
    login(UserFactory())
    assert client.get("/").status_code == 200


def test_admin_login_goes_through_the_account_login(client):
    response = client.get("/admin/login/?next=/admin/buildings/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fbuildings%2F"
