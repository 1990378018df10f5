"""我也遇到 (upvotes): a toggle, followed by a follow; who may; and the exact count."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from issues.models import Follow, Issue, Status, Upvote
from issues.services import issue_upvote_toggle
from tests.factories import UserFactory

from .helpers import report

pytestmark = pytest.mark.django_db


def test_upvote_toggles_and_follows(issue_world):
    w = issue_world
    issue = report(w)
    assert issue_upvote_toggle(issue=issue, user=w.a.neighbour) == (True, 1)
    assert Follow.objects.filter(issue=issue, user=w.a.neighbour).exists()
    assert Issue.objects.get(pk=issue.pk).follower_count == 2
    assert issue_upvote_toggle(issue=issue, user=w.a.neighbour) == (False, 0)
    assert not Upvote.objects.exists()
    # taking the upvote back keeps the follow (unfollow is its own button)
    assert Issue.objects.get(pk=issue.pk).follower_count == 2
    assert issue_upvote_toggle(issue=issue, user=w.a.neighbour) == (True, 1)
    assert Issue.objects.get(pk=issue.pk).follower_count == 2  # no second follow


def test_the_reporter_may_upvote_too(issue_world):
    w = issue_world
    issue = report(w)
    assert issue_upvote_toggle(issue=issue, user=w.a.resident) == (True, 1)
    assert Issue.objects.get(pk=issue.pk).follower_count == 1


@pytest.mark.parametrize("who", ["other_side", "unverified", "verified_no_record", "cadre"])
def test_only_verified_residents_of_the_neighbourhood(issue_world, who):
    w = issue_world
    user = {
        "other_side": w.b.resident,
        "unverified": UserFactory(verified=False),
        "verified_no_record": UserFactory(verified=True),
        "cadre": w.a.cadre,
    }[who]
    issue = report(w)
    with pytest.raises(PermissionDenied):
        issue_upvote_toggle(issue=issue, user=user)
    assert Issue.objects.get(pk=issue.pk).upvote_count == 0


@pytest.mark.parametrize("status", [Status.CLOSED, Status.REJECTED, Status.MERGED])
def test_final_reports_take_no_upvotes(issue_world, status):
    w = issue_world
    issue = report(w)
    Issue.objects.filter(pk=issue.pk).update(status=status)
    with pytest.raises(ValidationError) as error:
        issue_upvote_toggle(issue=issue, user=w.a.neighbour)
    assert error.value.code == "transition"


def test_resolved_reports_still_take_upvotes(issue_world):
    w = issue_world
    issue = report(w)
    Issue.objects.filter(pk=issue.pk).update(status=Status.RESOLVED)
    assert issue_upvote_toggle(issue=issue, user=w.a.neighbour) == (True, 1)
