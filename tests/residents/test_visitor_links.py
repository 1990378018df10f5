"""The public visitor link (finding 14 of issue 11): an opaque token that expires, shown
with its last day on /me/, and a form with a budget per address and per household."""

from __future__ import annotations

import base64
import datetime
from types import SimpleNamespace

import pytest
from django.core import signing
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from residents.models import IdType, VisitorDeclaration
from residents.services import visitor_declare
from residents.services import visitors as visitor_service
from residents.services.visitors import (
    LINK_SALT,
    VisitorRateLimited,
    household_for_visitor_token,
    household_per_hour,
    link_days,
    visitor_link_expires_on,
    visitor_link_token,
)
from tests.concurrency import run_together
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory, make_id_number


@pytest.fixture
def home(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    account = UserFactory(verified=True)
    resident = ResidentFactory(household=household, name="张三")
    resident.user = account
    resident.save()
    return SimpleNamespace(household=household, account=account)


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _form(n=0):
    today = timezone.localdate()
    return {
        "name": "王访客",
        "id_type": IdType.RESIDENT_ID,
        "id_number": make_id_number(8000 + n),
        "phone": "13912345678",
        "arrives_on": today.isoformat(),
        "leaves_on": (today + datetime.timedelta(days=3)).isoformat(),
        "reason": "探亲",
    }


# --- the token ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_token_names_nothing_readable(home):
    token = visitor_link_token(home.household)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    hh = home.household
    plain = visitor_service._PAYLOAD.pack(
        hh.pk, hh.visitor_link_generation, timezone.localdate().toordinal()
    )
    # Neither the packed payload nor its id field appears in the clear. (A byte-level
    # "no '{' anywhere" check would fail on random ciphertext about one time in ten.)
    assert plain not in raw and plain[:8] not in raw
    assert len(raw) == 12 + len(plain) + 16  # nonce + ciphertext + tag, nothing else
    with pytest.raises(signing.BadSignature):
        signing.Signer(salt=LINK_SALT).unsign_object(token)
    assert household_for_visitor_token(token) == home.household


@pytest.mark.django_db
def test_a_readable_signed_token_of_the_old_kind_is_refused(home):
    legacy = signing.Signer(salt=LINK_SALT).sign_object({"h": home.household.pk, "g": 0})
    assert household_for_visitor_token(legacy) is None


@pytest.mark.django_db
def test_a_token_is_refused_under_another_secret_and_kept_under_a_fallback(home, settings):
    token = visitor_link_token(home.household)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert household_for_visitor_token(token) is None
    settings.SECRET_KEY_FALLBACKS = [old]
    assert household_for_visitor_token(token) == home.household


@pytest.mark.django_db
def test_a_link_expires_after_the_configured_days(home, client, settings):
    today = timezone.localdate()
    days = link_days()
    assert days == 30
    issued = today - datetime.timedelta(days=days)
    last_day = visitor_link_token(home.household, today=issued)
    assert household_for_visitor_token(last_day) == home.household
    assert visitor_link_expires_on(last_day) == today
    expired = visitor_link_token(home.household, today=issued - datetime.timedelta(days=1))
    assert household_for_visitor_token(expired) is None
    assert client.get(reverse("visit", args=[expired])).status_code == 404
    future = visitor_link_token(home.household, today=today + datetime.timedelta(days=1))
    assert household_for_visitor_token(future) is None
    settings.LINLI_VISITOR_LINK_DAYS = 60
    assert household_for_visitor_token(expired) == home.household


@pytest.mark.django_db
def test_me_shows_when_the_link_expires(home, login):
    page = login(home.account).get(reverse("me:home"))
    html = page.content.decode()
    last = (timezone.localdate() + datetime.timedelta(days=link_days())).strftime("%Y-%m-%d")
    assert "data-visitor-link-expires" in html and last in html
    assert page.context["visitor_link_expires"] == timezone.localdate() + datetime.timedelta(
        days=link_days()
    )


# --- the form's budget ------------------------------------------------------------------------


@pytest.mark.django_db
def test_thirty_quick_declarations_through_the_link_are_not_all_accepted(home, client):
    url = reverse("visit", args=[visitor_link_token(home.household)])
    codes = [client.post(url, _form(i)).status_code for i in range(30)]
    assert codes.count(302) == household_per_hour()
    assert codes.count(429) == 30 - household_per_hour()
    assert VisitorDeclaration.objects.count() == household_per_hour()
    refused = client.post(url, _form(99))
    assert refused.status_code == 429
    assert refused.context["form"].non_field_errors()


@pytest.mark.django_db
def test_one_address_across_households_is_limited(world, client, settings):
    settings.LINLI_VISITOR_ADDRESS_PER_HOUR = 3
    households = [HouseholdFactory(dwelling=world.a.dwelling) for _i in range(5)]
    codes = [
        client.post(
            reverse("visit", args=[visitor_link_token(h)]), _form(i), REMOTE_ADDR="198.51.100.3"
        ).status_code
        for i, h in enumerate(households)
    ]
    assert codes == [302, 302, 302, 429, 429]
    other = client.post(
        reverse("visit", args=[visitor_link_token(households[4])]),
        _form(9),
        REMOTE_ADDR="198.51.100.4",
    )
    assert other.status_code == 302


@pytest.mark.django_db
def test_with_the_cache_down_the_household_budget_still_holds(home, client, monkeypatch):
    class Down:
        def add(self, *args, **kwargs):
            raise ConnectionError("cache down")

        incr = add

    monkeypatch.setattr(visitor_service, "cache", Down())
    url = reverse("visit", args=[visitor_link_token(home.household)])
    codes = [client.post(url, _form(i)).status_code for i in range(household_per_hour() + 2)]
    assert codes.count(302) == household_per_hour()
    assert codes[-1] == 429


@pytest.mark.django_db
def test_a_resident_declaring_from_me_is_not_throttled_by_the_link(home, login):
    client = login(home.account)
    for i in range(household_per_hour() + 1):
        response = client.post(reverse("me:visitor_new"), _form(i))
        assert response.status_code == 302


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_declarations_never_exceed_the_household_budget(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real row locks")
    household = HouseholdFactory(dwelling=world.a.dwelling)
    today = timezone.localdate()
    racers = 24

    def declare(i):
        return visitor_declare(
            household=household,
            name="访客",
            id_number=make_id_number(8100 + i),
            phone="13912345678",
            arrives_on=today,
            leaves_on=today + datetime.timedelta(days=2),
            reason="探亲",
            public=True,
            ip=f"10.8.{i}.1",
        )

    results = run_together(*[(lambda i=i: declare(i)) for i in range(racers)])
    stored = sum(isinstance(r, VisitorDeclaration) for r in results)
    assert stored == household_per_hour(), results
    assert sum(isinstance(r, VisitorRateLimited) for r in results) == racers - stored
