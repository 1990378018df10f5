"""Verification limits behind the proxy (finding 8 of issue 11): the client's address
comes from the trusted proxies, one account's failures never lock out another account,
and parallel tries cannot overrun the limit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from residents.models import VerificationAttempt
from residents.services import household_code_issue, verification_attempt
from residents.services.verification import (
    VerificationFailed,
    VerificationRateLimited,
    address_max_failures,
    max_failures,
)
from tests.concurrency import run_together
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory, make_id_number

ID_NUMBER = make_id_number(5151)
PROXY = "10.0.0.1"


@pytest.fixture
def code(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    ResidentFactory(household=household, name="张三", id_number=ID_NUMBER)
    return household_code_issue(household=household, by=world.a.cadre).plain


def _post(client, code, *, client_address, name="错"):
    return client.post(
        reverse("me:verify"),
        {"code": code, "name": name, "id_last4": ID_NUMBER[-4:]},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"203.0.113.250, {client_address}",
    )


@pytest.mark.django_db
@override_settings(LINLI_TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_one_residents_failures_do_not_block_another(code, login, client):
    c = UserFactory()
    login(c)
    for _i in range(max_failures() + 1):
        _post(client, code, client_address="198.51.100.7")
    assert _post(client, code, client_address="198.51.100.7").status_code == 429
    # the tries were recorded with the client's address, not the proxy's
    assert set(VerificationAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}
    a = UserFactory()
    login(a)
    response = _post(client, code, client_address="198.51.100.8", name="张三")
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.verified


@pytest.mark.django_db
def test_at_one_address_one_accounts_failures_do_not_block_another(code):
    c = UserFactory()
    for _i in range(max_failures()):
        with pytest.raises(VerificationFailed):
            verification_attempt(user=c, code=code, name="错", id_last4="0000", ip="10.1.1.1")
    with pytest.raises(VerificationRateLimited):
        verification_attempt(user=c, code=code, name="错", id_last4="0000", ip="10.1.1.1")
    a = UserFactory()
    resident = verification_attempt(
        user=a, code=code, name="张三", id_last4=ID_NUMBER[-4:], ip="10.1.1.1"
    )
    assert resident.user == a


@pytest.mark.django_db
def test_an_address_trying_many_accounts_is_still_limited(code):
    for _i in range(address_max_failures()):
        with pytest.raises(VerificationFailed):
            verification_attempt(
                user=UserFactory(), code=code, name="错", id_last4="0000", ip="10.2.2.2"
            )
    with pytest.raises(VerificationRateLimited):
        verification_attempt(
            user=UserFactory(), code=code, name="张三", id_last4=ID_NUMBER[-4:], ip="10.2.2.2"
        )


# --- parallel tries (PostgreSQL) -------------------------------------------------------------

RACERS = 24


def _race(fns):
    return run_together(*fns)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_tries_of_one_account_never_exceed_the_limit(code):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real row locks")
    user = UserFactory()

    def wrong(i):
        return lambda: verification_attempt(
            user=user, code=code, name="错", id_last4="0000", ip=f"10.3.{i}.1"
        )

    results = _race([wrong(i) for i in range(RACERS)])
    failed = sum(isinstance(r, VerificationFailed) for r in results)
    limited = sum(isinstance(r, VerificationRateLimited) for r in results)
    assert (failed, limited) == (max_failures(), RACERS - max_failures()), results
    assert VerificationAttempt.objects.filter(user=user, succeeded=False).count() == max_failures()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_tries_from_one_address_never_exceed_its_limit(code, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for advisory locks")
    settings.LINLI_VERIFY_MAX_ADDRESS_FAILURES = 5
    users = [UserFactory() for _i in range(RACERS)]

    def wrong(user):
        return lambda: verification_attempt(
            user=user, code=code, name="错", id_last4="0000", ip="10.4.4.4"
        )

    results = _race([wrong(u) for u in users])
    assert sum(isinstance(r, VerificationFailed) for r in results) == 5, results
    assert VerificationAttempt.objects.filter(ip_address="10.4.4.4").count() == 5
