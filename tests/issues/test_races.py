"""Races on reports, with real parallel connections (PostgreSQL only): many upvotes at
once give the exact count; two escalation runs at once escalate once."""

import datetime

import pytest
from django.db import connection

from issues.models import EventKind, HandlerLevel, Issue, Upvote
from issues.services import issue_upvote_toggle, issues_escalate_due
from tests.concurrency import run_together

from .factories import verified_resident
from .helpers import report

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VOTERS = 50


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real row locks")


def test_fifty_upvotes_at_once_count_fifty(issue_world):
    w = issue_world
    issue = report(w)
    voters = [verified_resident(w.a.dwelling, name=f"邻居{n}") for n in range(VOTERS)]
    results = run_together(
        *[(lambda u=u: issue_upvote_toggle(issue=issue, user=u)) for u in voters]
    )
    assert all(result[0] is True for result in results), results
    issue.refresh_from_db()
    assert Upvote.objects.filter(issue=issue).count() == VOTERS
    assert issue.upvote_count == VOTERS
    assert issue.follower_count == VOTERS + 1


def test_the_same_person_twice_at_once_counts_at_most_once(issue_world):
    w = issue_world
    issue = report(w)
    results = run_together(
        *[(lambda: issue_upvote_toggle(issue=issue, user=w.a.neighbour)) for _ in range(4)]
    )
    assert not any(isinstance(r, Exception) for r in results), results
    issue.refresh_from_db()
    assert issue.upvote_count == Upvote.objects.filter(issue=issue).count() <= 1


@pytest.mark.parametrize("round_", range(3))
def test_two_escalation_runs_at_once_escalate_once(issue_world, round_):
    w = issue_world
    issues = [report(w) for _ in range(3)]
    later = max(i.due_at for i in issues) + datetime.timedelta(hours=1)
    results = run_together(*[(lambda: issues_escalate_due(now=later)) for _ in range(4)])
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(results) == 3
    for issue in issues:
        issue.refresh_from_db()
        assert issue.escalations == 1 and issue.handler_level == HandlerLevel.COMMITTEE
        assert issue.events.filter(kind=EventKind.ESCALATED).count() == 1
    assert Issue.objects.filter(escalations__gt=1).count() == 0
