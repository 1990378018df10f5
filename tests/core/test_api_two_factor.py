"""The API asks staff sessions for two-factor, as the pages do (LINLI_STAFF_2FA_REQUIRED).

A cadre signed in with only a password is refused the registry by session (403 in the
API's error shape), reads and writes alike; the same session after a TOTP code opens it.
API keys are not sessions and are unaffected, and so are residents' sessions.
"""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import get_random_string
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD, HouseholdFactory, ResidentFactory, UserFactory

pytestmark = pytest.mark.django_db

RESIDENTS = "/api/v1/residents/"
CSRF_SECRET = get_random_string(32)
REFUSAL = "Complete two-factor sign-in before using the API from this session."


@pytest.fixture(autouse=True)
def _two_factor_required(settings):
    settings.LINLI_STAFF_2FA_REQUIRED = True
    # nothing here is about throttles
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_CLASSES": [],
    }


@pytest.fixture
def resident(world):
    return ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling), name="张三")


def csrf_client() -> Client:
    """A browser: CSRF enforced, the token in its cookie and sent back in the header."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = CSRF_SECRET
    return client


def sign_in(client, user):
    """The password step only, through the real sign-in page."""
    response = client.post(
        "/accounts/login/",
        {"username": user.phone, "password": PASSWORD, "csrfmiddlewaretoken": CSRF_SECRET},
    )
    assert response.status_code == 302, response.content
    return client


def csrf_token(client) -> str:
    """The token the page would hold now (sign-in rotates it)."""
    return client.cookies["csrftoken"].value


def patch_name(client, resident, name):
    return client.patch(
        f"{RESIDENTS}{resident.pk}/",
        {"name": name},
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client)},
    )


def token(device) -> str:
    return f"{TOTP(device.bin_key).token():06d}"


def assert_two_factor_refusal(response, language="zh-hans"):
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["status"] == 403
    assert error["code"] == "two_factor_required"
    with translation.override(language):
        assert error["message"] == translation.gettext(REFUSAL)


def test_password_only_cadre_session_is_refused_reads_and_writes(world, resident):
    client = sign_in(csrf_client(), world.a.cadre)
    assert client.session.get("_auth_user_id") == str(world.a.cadre.pk)

    assert_two_factor_refusal(client.get(RESIDENTS))
    assert_two_factor_refusal(client.get(f"{RESIDENTS}{resident.pk}/"))
    assert_two_factor_refusal(patch_name(client, resident, "改过的名字"))
    resident.refresh_from_db()
    assert resident.name == "张三"


def test_the_refusal_is_translated(world):
    client = sign_in(csrf_client(), world.a.cadre)
    assert_two_factor_refusal(client.get(RESIDENTS))  # the cadre's own language, Chinese
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language switch
    assert_two_factor_refusal(client.get(RESIDENTS, headers={"Accept-Language": "en"}), "en")
    en = client.get(RESIDENTS, headers={"Accept-Language": "en"})
    assert en.json()["error"]["message"] == REFUSAL


def test_password_only_superuser_session_is_refused(superuser, world, resident):
    client = sign_in(csrf_client(), superuser)
    assert_two_factor_refusal(client.get(RESIDENTS))
    assert_two_factor_refusal(patch_name(client, resident, "改过的名字"))


def test_superuser_without_the_staff_flag_is_sent_to_enrol_on_pages(world):
    user = UserFactory(is_superuser=True, is_staff=False)
    client = sign_in(csrf_client(), user)
    response = client.get("/")
    assert response["Location"].startswith("/accounts/two-factor/")
    assert_two_factor_refusal(client.get(RESIDENTS))


def sign_in_with_code(client, user, device):
    """Password, then the TOTP code: django-otp marks the session verified."""
    response = client.post(
        "/accounts/login/",
        {"username": user.phone, "password": PASSWORD, "csrfmiddlewaretoken": CSRF_SECRET},
    )
    assert response["Location"] == reverse("login_code")
    # half signed in: not a session the API knows yet
    assert client.get(RESIDENTS).status_code in (401, 403)
    response = client.post(
        reverse("login_code"),
        {"token": token(device), "csrfmiddlewaretoken": csrf_token(client)},
    )
    assert response.status_code == 302, response.content
    assert client.session.get(DEVICE_ID_SESSION_KEY) == device.persistent_id
    return client


def test_verified_session_opens_the_api(world, resident):
    device = TOTPDevice.objects.create(user=world.a.cadre, name="phone", confirmed=True)
    client = sign_in_with_code(csrf_client(), world.a.cadre, device)

    listing = client.get(RESIDENTS)
    assert listing.status_code == 200, listing.content
    assert [row["id"] for row in listing.json()["results"]] == [resident.pk]
    assert patch_name(client, resident, "张三丰").status_code == 200
    resident.refresh_from_db()
    assert resident.name == "张三丰"


def test_verified_session_still_needs_the_csrf_token(world, resident):
    device = TOTPDevice.objects.create(user=world.a.cadre, name="phone", confirmed=True)
    client = sign_in_with_code(csrf_client(), world.a.cadre, device)
    response = client.patch(
        f"{RESIDENTS}{resident.pk}/", {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] != "two_factor_required"
    resident.refresh_from_db()
    assert resident.name == "张三"


def test_a_verified_cadre_of_the_other_neighbourhood_still_gets_404(world, resident):
    device = TOTPDevice.objects.create(user=world.b.cadre, name="phone", confirmed=True)
    client = sign_in_with_code(csrf_client(), world.b.cadre, device)
    assert client.get(f"{RESIDENTS}{resident.pk}/").status_code == 404
    assert patch_name(client, resident, "x").status_code == 404


def test_api_keys_are_unaffected(world, resident, api_key_headers):
    _key, headers = api_key_headers(
        world.a.neighbourhood, scopes=("residents:read", "residents:write")
    )
    client = Client(enforce_csrf_checks=True)
    response = client.get(RESIDENTS, headers=headers)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [resident.pk]
    response = client.patch(
        f"{RESIDENTS}{resident.pk}/",
        {"name": "张三丰"},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200, response.content


def test_resident_session_is_unaffected(world):
    user = UserFactory()
    client = sign_in(csrf_client(), user)
    # not refused for two-factor: the API answers as it always did for a resident
    response = client.get(RESIDENTS)
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_two_factor_not_required_leaves_staff_sessions_alone(settings, world, resident):
    settings.LINLI_STAFF_2FA_REQUIRED = False
    client = sign_in(csrf_client(), world.a.cadre)
    assert client.get(RESIDENTS).status_code == 200
