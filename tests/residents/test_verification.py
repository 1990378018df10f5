"""实名认证: household codes, verifying with code + name + ID last 4, rate limits,
revoking, the cadre's scoped pages and the ``require_verified`` guard."""

import datetime
import re
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views import View

from core.models import AuditEvent
from residents import events
from residents.models import HouseholdCode, Relation, VerificationAttempt
from residents.permissions import IsVerifiedResident, VerifiedRequiredMixin, require_verified
from residents.services import (
    household_code_issue,
    household_code_revoke,
    verification_attempt,
    verification_revoke,
)
from residents.services.verification import (
    CODE_ALPHABET,
    CODE_LENGTH,
    GENERIC_FAILURE,
    VERIFICATION_REVOKED,
    VerificationFailed,
    VerificationRateLimited,
    address_max_failures,
    code_hash,
)
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory, make_id_number

ID_NUMBER = make_id_number(4242)
LAST4 = ID_NUMBER[-4:]


@pytest.fixture
def home(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    zhang = ResidentFactory(household=household, name="张三", id_number=ID_NUMBER)
    li = ResidentFactory(
        household=household,
        name="李四",
        id_number=make_id_number(4243),
        relation=Relation.SPOUSE,
    )
    account = UserFactory(name="")
    return SimpleNamespace(household=household, zhang=zhang, li=li, account=account)


def _issue(home, world):
    return household_code_issue(household=home.household, by=world.a.cadre)


def _verify(home, code, *, user=None, name="张三", last4=LAST4, ip="10.0.0.1", now=None):
    return verification_attempt(
        user=user or home.account, code=code, name=name, id_last4=last4, ip=ip, now=now
    )


# --- codes ------------------------------------------------------------------------------------


def test_a_code_is_human_typable_and_only_its_hash_is_stored(home, world):
    issued = _issue(home, world)
    assert len(issued.plain) == CODE_LENGTH
    assert set(issued.plain) <= set(CODE_ALPHABET)
    assert not set("01OIL") & set(issued.plain)
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", issued.printed)
    code = HouseholdCode.objects.get()
    assert code.code_hash == code_hash(issued.plain) != issued.plain
    assert code.neighbourhood_id == world.a.neighbourhood.pk
    assert code.issued_by == world.a.cadre
    expected = code.issued_at + datetime.timedelta(days=30)
    assert abs((code.expires_at - expected).total_seconds()) < 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM residents_householdcode")
        row = " ".join(str(value) for value in cursor.fetchone())
    assert issued.plain not in row
    event = AuditEvent.objects.get(action=events.HOUSEHOLD_CODE_ISSUED)
    assert event.actor == world.a.cadre
    assert event.params == {"code": code.pk}


def test_expiry_is_configurable(home, world, settings):
    settings.LINLI_HOUSEHOLD_CODE_DAYS = 7
    issued = _issue(home, world)
    code = issued.code
    assert (code.expires_at - code.issued_at) == datetime.timedelta(days=7)


def test_a_new_code_revokes_the_previous_unused_one(home, world):
    first = _issue(home, world)
    second = _issue(home, world)
    first.code.refresh_from_db()
    assert first.code.revoked_at is not None
    assert second.code.is_usable
    assert AuditEvent.objects.filter(action=events.HOUSEHOLD_CODE_REVOKED).count() == 1
    with pytest.raises(VerificationFailed):
        _verify(home, first.plain)
    assert _verify(home, second.plain) == home.zhang


def test_no_code_for_a_household_that_moved_out(home, world):
    home.household.moved_out = timezone.localdate()
    home.household.save()
    with pytest.raises(ValidationError):
        _issue(home, world)


# --- verifying --------------------------------------------------------------------------------


def test_verifying_links_the_account_and_uses_the_code(home, world):
    issued = _issue(home, world)
    resident = _verify(home, issued.printed.lower(), name=" 张 三 ", last4=LAST4.lower())
    assert resident == home.zhang
    home.zhang.refresh_from_db()
    home.account.refresh_from_db()
    issued.code.refresh_from_db()
    assert home.zhang.user == home.account
    assert home.account.verified is True
    assert issued.code.used_at is not None
    assert issued.code.used_by == home.account
    assert VerificationAttempt.objects.get().succeeded is True
    event = AuditEvent.objects.get(action=events.RESIDENT_VERIFIED)
    assert (event.actor, event.target_id, event.ip_address) == (
        home.account,
        home.zhang.pk,
        "10.0.0.1",
    )


def test_a_used_code_cannot_be_used_again(home, world):
    issued = _issue(home, world)
    _verify(home, issued.plain)
    other = UserFactory()
    with pytest.raises(VerificationFailed):
        _verify(home, issued.plain, user=other, name="李四", last4=home.li.id_last4)
    assert not other.verified


def test_an_expired_code_fails(home, world):
    issued = _issue(home, world)
    later = timezone.now() + datetime.timedelta(days=31)
    with pytest.raises(VerificationFailed):
        _verify(home, issued.plain, now=later)


def test_a_revoked_code_fails(home, world):
    issued = _issue(home, world)
    household_code_revoke(code=issued.code, by=world.a.cadre)
    with pytest.raises(VerificationFailed):
        _verify(home, issued.plain)
    event = AuditEvent.objects.get(action=events.HOUSEHOLD_CODE_REVOKED)
    assert event.actor == world.a.cadre


def test_a_used_code_cannot_be_revoked(home, world):
    issued = _issue(home, world)
    _verify(home, issued.plain)
    with pytest.raises(ValidationError):
        household_code_revoke(code=issued.code, by=world.a.cadre)


def test_another_households_member_does_not_match(home, world):
    issued = _issue(home, world)
    stranger = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling), name="王五")
    with pytest.raises(VerificationFailed):
        _verify(home, issued.plain, name="王五", last4=stranger.id_last4)


@pytest.mark.parametrize(
    "change",
    [
        {"name": "张四"},
        {"last4": "0000" if LAST4 != "0000" else "1111"},
        {"code": "ABCD-EFGH"},
        {"code": "short"},
    ],
    ids=["wrong name", "wrong last4", "wrong code", "malformed code"],
)
def test_any_mismatch_fails_with_one_generic_message(home, world, change):
    issued = _issue(home, world)
    kwargs = {"code": issued.plain, **change}
    code = kwargs.pop("code")
    with pytest.raises(VerificationFailed) as caught:
        _verify(home, code, **kwargs)
    assert caught.value.messages == [str(GENERIC_FAILURE)]
    home.account.refresh_from_db()
    assert not home.account.verified
    assert VerificationAttempt.objects.get().succeeded is False


def test_the_page_gives_the_same_words_whichever_part_is_wrong(home, world, login):
    issued = _issue(home, world)
    client = login(home.account)
    url = reverse("me:verify")
    wrong = [
        {"code": issued.plain, "name": "张四", "id_last4": LAST4},
        {"code": issued.plain, "name": "张三", "id_last4": "9X9X"},
        {"code": "ZZZZ-ZZZZ", "name": "张三", "id_last4": LAST4},
    ]
    errors = []
    for data in wrong:
        response = client.post(url, data)
        assert response.status_code == 400
        errors.append(response.context["form"].non_field_errors())
    assert errors[0] == errors[1] == errors[2]
    assert str(GENERIC_FAILURE) in errors[0]


def test_an_account_already_verified_cannot_verify_again(home, world):
    issued = _issue(home, world)
    _verify(home, issued.plain)
    second = household_code_issue(household=home.household, by=world.a.cadre)
    with pytest.raises(ValidationError) as caught:
        _verify(home, second.plain, name="李四", last4=home.li.id_last4)
    assert caught.value.code == "already_verified"


# --- rate limits ------------------------------------------------------------------------------


def test_failures_are_limited_per_account(home, world):
    issued = _issue(home, world)
    start = timezone.now()
    for i in range(5):
        with pytest.raises(VerificationFailed):
            _verify(home, issued.plain, name="错", ip=f"10.0.1.{i}", now=start)
    # even the right details are refused now, and the refusal is not recorded
    with pytest.raises(VerificationRateLimited) as caught:
        _verify(home, issued.plain, ip="10.0.2.1", now=start + datetime.timedelta(minutes=1))
    assert caught.value.retry_at == start + datetime.timedelta(hours=1)
    assert VerificationAttempt.objects.count() == 5
    # an hour later the account may try again
    assert _verify(home, issued.plain, now=start + datetime.timedelta(minutes=61)) == home.zhang


def test_failures_are_limited_per_address(home, world):
    issued = _issue(home, world)
    start = timezone.now()
    for _i in range(address_max_failures()):  # looser than per account: neighbours share one
        with pytest.raises(VerificationFailed):
            _verify(home, issued.plain, user=UserFactory(), name="错", ip="10.9.9.9", now=start)
    with pytest.raises(VerificationRateLimited):
        _verify(home, issued.plain, ip="10.9.9.9", now=start)
    # the same account from another address is fine
    assert _verify(home, issued.plain, ip="10.9.9.8", now=start) == home.zhang


def test_the_limit_is_configurable(home, world, settings):
    settings.LINLI_VERIFY_MAX_FAILURES = 2
    issued = _issue(home, world)
    for _i in range(2):
        with pytest.raises(VerificationFailed):
            _verify(home, issued.plain, name="错")
    with pytest.raises(VerificationRateLimited):
        _verify(home, issued.plain)


def test_the_page_says_when_to_try_again(home, world, login):
    issued = _issue(home, world)
    client = login(home.account)
    for _i in range(5):
        client.post(reverse("me:verify"), {"code": issued.plain, "name": "错", "id_last4": LAST4})
    response = client.post(
        reverse("me:verify"), {"code": issued.plain, "name": "张三", "id_last4": LAST4}
    )
    assert response.status_code == 429
    first = VerificationAttempt.objects.order_by("created_at").first().created_at
    retry = timezone.localtime(first + datetime.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    errors = " ".join(response.context["form"].non_field_errors())
    assert retry in errors
    home.account.refresh_from_db()
    assert not home.account.verified


# --- the resident's page ----------------------------------------------------------------------


def test_the_verify_page_needs_a_signed_in_user(client, db):
    response = client.get(reverse("me:verify"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_verifying_through_the_page(home, world, login):
    issued = _issue(home, world)
    client = login(home.account)
    page = client.get(reverse("me:verify"))
    assert page.status_code == 200
    response = client.post(
        reverse("me:verify"),
        {"code": issued.printed, "name": "张三", "id_last4": LAST4, "next": "/me/data/"},
    )
    assert response.status_code == 302
    assert response.url == "/me/data/"
    home.account.refresh_from_db()
    assert home.account.verified
    # once verified the page says so
    again = client.get(reverse("me:verify"))
    assert again.status_code == 200
    assert "residents/verify_done.html" in [t.name for t in again.templates]


def test_the_verify_page_does_not_redirect_off_site(home, world, login):
    issued = _issue(home, world)
    client = login(home.account)
    response = client.post(
        reverse("me:verify"),
        {
            "code": issued.plain,
            "name": "张三",
            "id_last4": LAST4,
            "next": "https://evil.example/",
        },
    )
    assert response.url == reverse("me:home")


# --- the cadre's pages ------------------------------------------------------------------------


def _code_from_slip(response) -> str:
    match = re.search(r"data-slip-code>([A-Z0-9-]+)<", response.content.decode())
    assert match, "the slip shows the code"
    return match.group(1)


def test_the_cadre_issues_a_code_and_sees_the_slip_once(home, world, login):
    client = login(world.a.cadre)
    url = reverse("registry:household_code", args=[home.household.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "张三" in page.content.decode()

    response = client.post(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    code = _code_from_slip(response)
    html = response.content.decode()
    for text in (world.a.estate.name, world.a.building.number, world.a.dwelling.room):
        assert text in html
    assert reverse("me:verify") in html
    # the status page afterwards never shows it again
    assert code not in client.get(url).content.decode()
    # and the printed code works
    assert _verify(home, code) == home.zhang


def test_the_cadre_revokes_the_code(home, world, login):
    issued = _issue(home, world)
    client = login(world.a.cadre)
    response = client.post(reverse("registry:household_code_revoke", args=[home.household.pk]))
    assert response.status_code == 302
    issued.code.refresh_from_db()
    assert issued.code.revoked_at is not None
    with pytest.raises(VerificationFailed):
        _verify(home, issued.plain)


def test_the_cadre_revokes_a_verification(home, world, login):
    issued = _issue(home, world)
    _verify(home, issued.plain)
    client = login(world.a.cadre)
    response = client.post(reverse("registry:verification_revoke", args=[home.zhang.pk]))
    assert response.status_code == 302
    home.zhang.refresh_from_db()
    home.account.refresh_from_db()
    assert home.zhang.user is None
    assert home.account.verified is False
    event = AuditEvent.objects.get(action=VERIFICATION_REVOKED)
    assert (event.actor, event.target_id) == (world.a.cadre, home.zhang.pk)
    assert event.params == {"account": home.account.pk}
    # revoking again is refused, not repeated
    with pytest.raises(ValidationError):
        verification_revoke(resident=home.zhang, by=world.a.cadre)


@pytest.mark.parametrize(
    "name, method",
    [
        ("registry:household_code", "get"),
        ("registry:household_code", "post"),
        ("registry:household_code_revoke", "post"),
    ],
)
def test_another_neighbourhoods_cadre_gets_404_on_household_pages(home, world, login, name, method):
    issued = _issue(home, world)
    client = login(world.b.cadre)
    response = getattr(client, method)(reverse(name, args=[home.household.pk]))
    assert response.status_code == 404
    issued.code.refresh_from_db()
    assert issued.code.revoked_at is None
    assert HouseholdCode.objects.count() == 1


def test_another_neighbourhoods_cadre_cannot_revoke_a_verification(home, world, login):
    issued = _issue(home, world)
    _verify(home, issued.plain)
    response = login(world.b.cadre).post(
        reverse("registry:verification_revoke", args=[home.zhang.pk])
    )
    assert response.status_code == 404
    home.account.refresh_from_db()
    assert home.account.verified


def test_a_resident_cannot_open_the_cadre_pages(home, world, login):
    response = login(home.account).get(reverse("registry:household_code", args=[home.household.pk]))
    assert response.status_code == 404


def test_the_household_page_has_a_fixed_query_count(
    home, world, login, django_assert_max_num_queries
):
    client = login(world.a.cadre)
    url = reverse("registry:household_code", args=[home.household.pk])
    _issue(home, world)
    client.get(url)  # warm caches (content types, sessions)
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    for i in range(8):
        ResidentFactory(household=home.household, relation=Relation.CHILD, name=f"孩子{i}")
        _issue(home, world)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


# --- require_verified -------------------------------------------------------------------------


@require_verified
def _guarded(request):
    return HttpResponse("ok")


class _GuardedView(VerifiedRequiredMixin, View):
    def get(self, request):
        return HttpResponse("ok")

    def post(self, request):
        return HttpResponse("ok")


def _request(method, user):
    from django.contrib.messages.storage.fallback import FallbackStorage

    request = getattr(RequestFactory(), method)("/deliberation/1/upvote/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@pytest.mark.parametrize("view", [_guarded, _GuardedView.as_view()], ids=["decorator", "mixin"])
def test_require_verified_lets_only_verified_residents_through(db, view):
    from django.contrib.auth.models import AnonymousUser

    anonymous = view(_request("get", AnonymousUser()))
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("login"))

    unverified = UserFactory(verified=False)
    response = view(_request("get", unverified))
    assert response.status_code == 302
    assert response.url.startswith(reverse("me:verify"))
    with pytest.raises(PermissionDenied):
        view(_request("post", unverified))

    inactive = UserFactory(verified=True, is_active=False)
    with pytest.raises(PermissionDenied):
        view(_request("post", inactive))

    verified = UserFactory(verified=True)
    assert view(_request("get", verified)).status_code == 200
    assert view(_request("post", verified)).status_code == 200


def test_the_drf_permission_lets_only_verified_residents_through(db, world, api_key_headers):
    from django.contrib.auth.models import AnonymousUser

    from core.api.authentication import ApiKeyPrincipal

    permission = IsVerifiedResident()

    def allowed(user):
        return permission.has_permission(SimpleNamespace(user=user), None)

    api_key, _headers = api_key_headers(world.a.neighbourhood)
    assert not allowed(AnonymousUser())
    assert not allowed(ApiKeyPrincipal(api_key))
    assert not allowed(UserFactory(verified=False))
    assert allowed(UserFactory(verified=True))
