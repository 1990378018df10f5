"""Races for one-time things, with real parallel connections (PostgreSQL only).

SQLite serialises writers, so these tests only mean something on PostgreSQL,
where CI runs the suite.
"""

import threading

import pytest
from django.db import connection, connections

from residents.models import HouseholdCode, Resident, VerificationAttempt
from residents.services.verification import (
    VerificationFailed,
    household_code_issue,
    verification_attempt,
)
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real row locks")


def run_together(*callables):
    """Start all callables at the same moment, each on its own connection."""
    barrier = threading.Barrier(len(callables))
    results = [None] * len(callables)

    def runner(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the outcome is what we compare
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(callables)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_one_code_verifies_one_account_when_two_race_for_it():
    household = HouseholdFactory()
    person = ResidentFactory(household=household, name="张三", id_number="11010519491231002X")
    code = household_code_issue(household=household, by=None).plain
    contenders = [UserFactory() for _ in range(4)]

    results = run_together(
        *[
            (lambda u=u: verification_attempt(user=u, code=code, name="张三", id_last4="002X"))
            for u in contenders
        ]
    )

    winners = [r for r in results if isinstance(r, Resident)]
    assert len(winners) == 1, results
    assert all(isinstance(r, VerificationFailed) for r in results if r not in winners)
    person.refresh_from_db()
    assert person.user_id in {u.pk for u in contenders}
    assert HouseholdCode.objects.get(household=household).used_by_id == person.user_id
    assert VerificationAttempt.objects.filter(succeeded=True).count() == 1
