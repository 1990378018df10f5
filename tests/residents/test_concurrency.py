"""Races on the registry's locked rows, with real parallel connections (PostgreSQL only).

Every ``select_for_update`` in residents' services protects an invariant; each
test here starts several threads at one barrier, each thread on its own database
connection, calling the service on the same row, and checks that invariant.
Each race is run ``ROUNDS`` times on fresh rows, so that an unlocked window is
hit reliably rather than by luck.

SQLite serialises writers, so these tests only mean something on PostgreSQL,
where CI runs the suite.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from core.models import AuditEvent
from residents.models import (
    HouseholdCode,
    IdType,
    Resident,
    VerificationAttempt,
    VisitorDeclaration,
    WellbeingAlert,
)
from residents.services import (
    household_code_issue,
    household_code_revoke,
    verification_attempt,
    verification_revoke,
    visitor_declaration_review,
    visitor_declare,
    wellbeing_alert_handle,
)
from residents.services.verification import VerificationFailed, code_hash
from tests.concurrency import run_together
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory, make_id_number

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5
THREADS = 4


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real row locks")


def audits(action, **params):
    events = AuditEvent.objects.filter(action=action).order_by("pk")
    return [e for e in events if all(e.params.get(k) == v for k, v in params.items())]


def _person(household, n):
    return ResidentFactory(household=household, name="张三", id_number=make_id_number(n))


# --- verification_attempt: the code row is locked ----------------------------------------------


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_one_code_verifies_one_account_when_several_race_for_it(round_):
    household = HouseholdFactory()
    person = _person(household, 9100 + round_)
    code = household_code_issue(household=household, by=None).plain
    contenders = [UserFactory() for _ in range(THREADS)]

    results = run_together(
        *[
            (
                lambda u=u: verification_attempt(
                    user=u, code=code, name="张三", id_last4=person.id_last4
                )
            )
            for u in contenders
        ]
    )

    winners = [r for r in results if isinstance(r, Resident)]
    assert len(winners) == 1, results
    assert all(isinstance(r, VerificationFailed) for r in results if r not in winners), results
    person.refresh_from_db()
    assert person.user_id in {u.pk for u in contenders}
    assert HouseholdCode.objects.get(household=household).used_by_id == person.user_id
    assert VerificationAttempt.objects.filter(user__in=contenders, succeeded=True).count() == 1
    verified = [u.pk for u in contenders if type(u).objects.get(pk=u.pk).verified]
    assert verified == [person.user_id]


# --- household_code_issue: the household row is locked ----------------------------------------


def _usable(household):
    return HouseholdCode.objects.filter(
        household=household,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_code_issues_leave_exactly_one_usable_code(round_):
    household = HouseholdFactory()
    old = household_code_issue(household=household, by=None).code
    cadres = [UserFactory() for _ in range(THREADS)]

    results = run_together(
        *[(lambda c=c: household_code_issue(household=household, by=c)) for c in cadres]
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    usable = list(_usable(household))
    assert len(usable) == 1, [(c.pk, c.revoked_at) for c in HouseholdCode.objects.all()]
    # the usable row is one of the codes just printed, and only that slip works
    working = [
        r for r in results if HouseholdCode.objects.get(code_hash=code_hash(r.plain)) in usable
    ]
    assert len(working) == 1
    # every other code was revoked exactly once, with one audit event each
    revoked_ids = [e.params["code"] for e in audits("household_code_revoked")]
    issued_ids = {r.code.pk for r in results}
    assert sorted(revoked_ids) == sorted({old.pk} | issued_ids - {usable[0].pk})


# --- household_code_revoke: the code row is locked ---------------------------------------------


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_code_is_used_or_revoked_never_both(round_):
    household = HouseholdFactory()
    person = _person(household, 9200 + round_)
    issued = household_code_issue(household=household, by=None)
    resident_account = UserFactory()
    cadres = [UserFactory() for _ in range(THREADS - 1)]

    results = run_together(
        lambda: verification_attempt(
            user=resident_account, code=issued.plain, name="张三", id_last4=person.id_last4
        ),
        *[(lambda c=c: household_code_revoke(code=issued.code, by=c)) for c in cadres],
    )

    verified, revokes = results[0], results[1:]
    code = HouseholdCode.objects.get(pk=issued.code.pk)
    revoke_events = audits("household_code_revoked", code=code.pk)
    assert not (code.used_at and code.revoked_at), (code.used_at, code.revoked_at, results)
    if isinstance(verified, Resident):
        assert code.used_by_id == resident_account.pk
        assert all(isinstance(r, ValidationError) for r in revokes), revokes
        assert revoke_events == []
    else:
        assert isinstance(verified, VerificationFailed), verified
        assert code.revoked_at is not None and code.used_at is None
        assert all(isinstance(r, HouseholdCode) for r in revokes), revokes
        assert len(revoke_events) == 1  # revoked once, however many cadres clicked
        person.refresh_from_db()
        assert person.user_id is None


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_revokes_of_one_code_revoke_it_once(round_):
    household = HouseholdFactory()
    code = household_code_issue(household=household, by=None).code
    cadres = [UserFactory() for _ in range(THREADS)]

    results = run_together(*[(lambda c=c: household_code_revoke(code=code, by=c)) for c in cadres])

    assert all(isinstance(r, HouseholdCode) for r in results), results
    assert len(audits("household_code_revoked", code=code.pk)) == 1
    assert not _usable(household).exists()


# --- verification_revoke: the resident row is locked --------------------------------------------


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_unverifications_undo_the_link_once(round_):
    household = HouseholdFactory()
    person = _person(household, 9300 + round_)
    code = household_code_issue(household=household, by=None).plain
    account = UserFactory()
    verification_attempt(user=account, code=code, name="张三", id_last4=person.id_last4)
    cadres = [UserFactory() for _ in range(THREADS)]

    results = run_together(
        *[(lambda c=c: verification_revoke(resident=person, by=c)) for c in cadres]
    )

    done = [r for r in results if isinstance(r, Resident)]
    assert len(done) == 1, results
    assert all(isinstance(r, ValidationError) for r in results if r not in done), results
    events = [e for e in audits("verification_revoked") if e.target_id == person.pk]
    assert len(events) == 1
    assert events[0].params["account"] == account.pk
    person.refresh_from_db()
    account.refresh_from_db()
    assert person.user_id is None and account.verified is False


# --- wellbeing_alert_handle: the alert row is locked ---------------------------------------------


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_an_alert_is_handled_once_when_cadres_handle_it_together(round_):
    resident = ResidentFactory(household=HouseholdFactory())
    alert = WellbeingAlert.objects.create(
        resident=resident,
        neighbourhood_id=resident.neighbourhood_id,
        last_seen_at=timezone.now() - datetime.timedelta(hours=60),
    )
    cadres = [UserFactory() for _ in range(THREADS)]

    results = run_together(
        *[
            # each cadre has their own copy of the alert, as each request would
            (
                lambda c=c, i=i: wellbeing_alert_handle(
                    alert=WellbeingAlert.objects.get(pk=alert.pk), by=c, note=f"电话联系{i}"
                )
            )
            for i, c in enumerate(cadres)
        ]
    )

    handled = [r for r in results if isinstance(r, WellbeingAlert)]
    assert len(handled) == 1, results
    assert all(isinstance(r, ValidationError) for r in results if r not in handled), results
    alert.refresh_from_db()
    winner = handled[0]
    assert (alert.handled_by_id, alert.note) == (winner.handled_by_id, winner.note)
    events = [e for e in audits("wellbeing_alert_handled") if e.target_id == alert.pk]
    assert len(events) == 1
    assert events[0].actor_id == winner.handled_by_id
    assert events[0].params["note"] == alert.note


# --- visitor_declaration_review: the declaration row is locked ------------------------------------


def _declaration():
    today = timezone.localdate()
    return visitor_declare(
        household=HouseholdFactory(),
        name="王访客",
        id_type=IdType.RESIDENT_ID,
        id_number=make_id_number(7001),
        phone="13912345678",
        arrives_on=today,
        leaves_on=today + datetime.timedelta(days=10),
        reason="探亲",
        today=today,
    )


def _reviews(declaration):
    return audits("visitor_declaration_reviewed", declaration=declaration.pk)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_same_review_by_several_cadres_is_recorded_once(round_):
    declaration = _declaration()
    cadres = [UserFactory() for _ in range(THREADS)]
    confirmed = VisitorDeclaration.Status.CONFIRMED

    results = run_together(
        *[
            (
                lambda c=c: visitor_declaration_review(
                    declaration=declaration, by=c, status=confirmed
                )
            )
            for c in cadres
        ]
    )

    assert all(isinstance(r, VisitorDeclaration) for r in results), results
    reviews = _reviews(declaration)
    assert len(reviews) == 1, [(e.actor_id, e.params) for e in reviews]
    assert reviews[0].params["previous"] == VisitorDeclaration.Status.SUBMITTED
    declaration.refresh_from_db()
    assert declaration.status == confirmed
    assert declaration.reviewed_by_id == reviews[0].actor_id


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_conflicting_reviews_leave_a_consistent_trail(round_):
    """Confirm and reject at once: each recorded review starts from the one before."""
    declaration = _declaration()
    statuses = [VisitorDeclaration.Status.CONFIRMED, VisitorDeclaration.Status.REJECTED] * (
        THREADS // 2
    )
    cadres = [UserFactory() for _ in statuses]

    results = run_together(
        *[
            (lambda c=c, s=s: visitor_declaration_review(declaration=declaration, by=c, status=s))
            for c, s in zip(cadres, statuses, strict=True)
        ]
    )

    assert all(isinstance(r, VisitorDeclaration) for r in results), results
    reviews = _reviews(declaration)
    assert reviews, results
    trail = [(e.params["previous"], e.params["status"]) for e in reviews]
    before = VisitorDeclaration.Status.SUBMITTED
    for previous, status in trail:
        assert previous == before and status != previous, trail
        before = status
    declaration.refresh_from_db()
    assert declaration.status == before
    assert declaration.reviewed_by_id == reviews[-1].actor_id
