"""我也遇到 (upvotes) and follows: rows with a unique constraint; the counts move by
``F()`` updates that follow a successful insert or delete, never read-modify-write, so
any number of people pressing at once gives the exact count."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ..models import FINAL_STATUSES, Follow, Issue, Upvote
from ..permissions import may_upvote


def _check(issue: Issue, user) -> None:
    if not may_upvote(user, issue):
        raise PermissionDenied(_("Only verified residents of this neighbourhood may do this."))
    if issue.status in FINAL_STATUSES:
        raise ValidationError(
            _("This report is %(status)s; it no longer takes upvotes.")
            % {"status": issue.get_status_display()},
            code="transition",
        )


def _insert(model, issue: Issue, user) -> bool:
    """Insert the row in a savepoint; False when it was there already."""
    try:
        with transaction.atomic():
            model.objects.create(issue=issue, user=user)
    except IntegrityError:
        return False
    return True


def _follow(issue: Issue, user) -> bool:
    if _insert(Follow, issue, user):
        Issue.objects.filter(pk=issue.pk).update(follower_count=F("follower_count") + 1)
        return True
    return False


def issue_upvote_toggle(*, issue: Issue, user) -> tuple[bool, int]:
    """Upvote (and follow), or take the upvote back; returns (upvoted now, new count)."""
    issue = Issue.objects.get(pk=issue.pk)  # the status now, not the page's
    _check(issue, user)
    with transaction.atomic():
        if _insert(Upvote, issue, user):
            Issue.objects.filter(pk=issue.pk).update(upvote_count=F("upvote_count") + 1)
            _follow(issue, user)
            upvoted = True
        else:
            deleted, _rows = Upvote.objects.filter(issue=issue, user=user).delete()
            if deleted:
                Issue.objects.filter(pk=issue.pk).update(upvote_count=F("upvote_count") - 1)
            upvoted = False
    count = Issue.objects.filter(pk=issue.pk).values_list("upvote_count", flat=True).get()
    return upvoted, count


def issue_follow_toggle(*, issue: Issue, user) -> bool:
    """Follow or stop following (the reporter too may stop); returns following now."""
    issue = Issue.objects.get(pk=issue.pk)
    is_reporter = user is not None and issue.reporter_id == user.pk
    if not (is_reporter or may_upvote(user, issue)):
        raise PermissionDenied(_("Only verified residents of this neighbourhood may do this."))
    with transaction.atomic():
        if _follow(issue, user):
            return True
        deleted, _rows = Follow.objects.filter(issue=issue, user=user).delete()
        if deleted:
            Issue.objects.filter(pk=issue.pk).update(follower_count=F("follower_count") - 1)
    return False
