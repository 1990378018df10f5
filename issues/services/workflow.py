"""The moves of a report (issues.models.TRANSITIONS), one service each.

Every move: lock the row, check the transitions table (``ValidationError`` code
"transition", naming the status), check the actor (a handler: ``may_handle``; confirm and
reopen: the reporter only; else ``PermissionDenied``), write the fields, write the
timeline step, tell the followers and publish the webhooks (inside the transaction: the
outboxes send after commit). Each returns the updated report.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from ..models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    EventKind,
    Follow,
    Issue,
    IssueEvent,
    Move,
    Status,
    Upvote,
)
from ..permissions import may_handle, may_upvote
from . import routing
from .checks import REASON_MAX, optional_text, required_text
from .photos import attach_photos, stored_photos
from .timeline import (
    EVENT_UPDATED,
    after_public_step,
    notify_step,
    now_or,
    publish,
    step,
)

#: a move as the refusal names it: "This report is closed, so it cannot be reopened."
MOVE_WORDS = {
    Move.ACKNOWLEDGE: pgettext_lazy("issue move", "acknowledged"),
    Move.COMMIT: pgettext_lazy("issue move", "committed to a date"),
    Move.PROGRESS: pgettext_lazy("issue move", "updated"),
    Move.RESOLVE: pgettext_lazy("issue move", "resolved"),
    Move.CONFIRM: pgettext_lazy("issue move", "confirmed"),
    Move.AUTO_CLOSE: pgettext_lazy("issue move", "closed automatically"),
    Move.REOPEN: pgettext_lazy("issue move", "reopened"),
    Move.REJECT: pgettext_lazy("issue move", "rejected"),
    Move.MERGE: pgettext_lazy("issue move", "merged"),
}

_JOINED = ("category", "neighbourhood", "estate__property_company", "building__estate", "reporter")
_JOINED += ("department", "property_company")


def locked(pk: int) -> Issue:
    """The report, locked for this transaction (its own row only), names joined."""
    return Issue.objects.select_for_update(of=("self",)).select_related(*_JOINED).get(pk=pk)


def refuse_transition(issue: Issue, move: str) -> ValidationError:
    return ValidationError(
        _("This report is %(status)s, so it cannot be %(move)s.")
        % {"status": issue.get_status_display(), "move": MOVE_WORDS[move]},
        code="transition",
    )


def check_move(issue: Issue, move: str) -> None:
    if not issue.allowed(move):
        raise refuse_transition(issue, move)


def check_handler(actor, issue: Issue) -> None:
    if not may_handle(actor, issue):
        raise PermissionDenied(_("You do not handle this report."))


def check_reporter(actor, issue: Issue) -> None:
    if actor is None or issue.reporter_id is None or actor.pk != issue.reporter_id:
        raise PermissionDenied(_("Only the person who reported it may do this."))


def _save(issue: Issue, *fields: str) -> None:
    issue.save(update_fields=[*fields, "activity_at", "updated_at"])


def _handler_move(issue, actor, move):
    issue = locked(issue.pk)
    check_move(issue, move)
    check_handler(actor, issue)
    return issue


# --- the handler's moves -------------------------------------------------------------------


def issue_acknowledge(*, issue: Issue, actor, note: str = "", now=None) -> Issue:
    """受理: the handler has seen it; they now have ``acknowledge_hours`` to commit a date."""
    now = now_or(now)
    note = optional_text(note, field="note")
    with transaction.atomic():
        issue = _handler_move(issue, actor, Move.ACKNOWLEDGE)
        _acknowledge(issue, actor, note, now)
    return issue


def _acknowledge(issue: Issue, actor, note: str, now) -> None:
    issue.status = Status.ACKNOWLEDGED
    issue.acknowledged_at = now
    issue.due_at = routing.commit_window(issue, now)
    event = step(issue, kind=EventKind.ACKNOWLEDGED, now=now, actor=actor, text=note)
    _save(issue, "status", "acknowledged_at", "due_at")
    after_public_step(issue, event, actor=actor)


def issue_bulk_acknowledge(*, issue_ids, actor, now=None) -> int:
    """Acknowledge every submitted report of ``issue_ids`` the actor handles; returns how
    many (the others are left as they are)."""
    now = now_or(now)
    ids = sorted({int(pk) for pk in issue_ids})
    count = 0
    with transaction.atomic():
        rows = (
            Issue.objects.select_for_update(of=("self",))
            .select_related(*_JOINED)
            .filter(pk__in=ids)
            .order_by("pk")
        )
        for issue in rows:
            if issue.allowed(Move.ACKNOWLEDGE) and may_handle(actor, issue):
                _acknowledge(issue, actor, "", now)
                count += 1
    return count


def issue_commit(
    *, issue: Issue, actor, committed_due: datetime.date, note: str = "", now=None
) -> Issue:
    """承诺制: the handler commits to a date (today or later); they are due at its end."""
    now = now_or(now)
    note = optional_text(note, field="note")
    if not isinstance(committed_due, datetime.date) or isinstance(committed_due, datetime.datetime):
        raise ValidationError(
            {"committed_due": ValidationError(_("Enter a date."), code="invalid")}
        )
    if committed_due < timezone.localdate(now):
        raise ValidationError(
            {
                "committed_due": ValidationError(
                    _("The committed date cannot be in the past."), code="past_date"
                )
            }
        )
    with transaction.atomic():
        issue = _handler_move(issue, actor, Move.COMMIT)
        previous = issue.committed_due
        issue.status = Status.IN_PROGRESS
        issue.committed_due = committed_due
        issue.committed_at = now
        issue.due_at = routing.end_of_day(committed_due)
        data = {"date": committed_due.isoformat()}
        if previous:
            data["previous"] = previous.isoformat()
        event = step(issue, kind=EventKind.COMMITTED, now=now, actor=actor, text=note, data=data)
        _save(issue, "status", "committed_due", "committed_at", "due_at")
        after_public_step(issue, event, actor=actor)
    return issue


def issue_progress(*, issue: Issue, actor, text: str, photos=(), now=None) -> Issue:
    """An update while the work goes on, with photos."""
    now = now_or(now)
    text = required_text(text, field="text")
    check_handler(actor, issue)  # before any image work
    with stored_photos(photos) as stored, transaction.atomic():
        issue = _handler_move(issue, actor, Move.PROGRESS)
        event = step(issue, kind=EventKind.PROGRESS, now=now, actor=actor, text=text)
        attach_photos(issue, event, stored, actor)
        _save(issue)
        after_public_step(issue, event, actor=actor)
    return issue


def issue_resolve(*, issue: Issue, actor, note: str, photos=(), now=None) -> Issue:
    """办结: the handler says it is done (a note required, photos welcome)."""
    now = now_or(now)
    note = required_text(note, field="note", message=_("Say what was done."))
    check_handler(actor, issue)  # before any image work
    with stored_photos(photos) as stored, transaction.atomic():
        issue = _handler_move(issue, actor, Move.RESOLVE)
        issue.status = Status.RESOLVED
        issue.resolved_at = now
        issue.resolution_note = note
        issue.due_at = None
        event = step(issue, kind=EventKind.RESOLVED, now=now, actor=actor, text=note)
        attach_photos(issue, event, stored, actor)
        _save(issue, "status", "resolved_at", "resolution_note", "due_at")
        after_public_step(issue, event, actor=actor, resolved=True)
    return issue


def issue_reject(*, issue: Issue, actor, reason: str, now=None) -> Issue:
    """Not ours to fix / not a real problem: closed with a reason."""
    now = now_or(now)
    reason = required_text(reason, field="reason", max_length=REASON_MAX)
    with transaction.atomic():
        issue = _handler_move(issue, actor, Move.REJECT)
        issue.status = Status.REJECTED
        issue.reason = reason
        issue.closed_at = now
        issue.due_at = None
        event = step(issue, kind=EventKind.REJECTED, now=now, actor=actor, text=reason)
        _save(issue, "status", "reason", "closed_at", "due_at")
        after_public_step(issue, event, actor=actor)
    return issue


def issue_merge(*, issue: Issue, actor, into: Issue, reason: str, now=None) -> Issue:
    """A duplicate: merge ``issue`` into the open report ``into`` of the same
    neighbourhood; its upvotes and followers move there (once each)."""
    now = now_or(now)
    reason = required_text(reason, field="reason", max_length=REASON_MAX)
    if into is None or into.pk == issue.pk:
        raise ValidationError(
            {"into": ValidationError(_("A report cannot be merged into itself."), code="self")}
        )
    with transaction.atomic():
        first, second = sorted((issue.pk, into.pk))
        rows = {first: locked(first), second: locked(second)}
        source, target = rows[issue.pk], rows[into.pk]
        check_move(source, Move.MERGE)
        check_handler(actor, source)
        if target.status not in OPEN_STATUSES:
            raise ValidationError(
                {
                    "into": ValidationError(
                        _("The report to merge into is %(status)s; pick an open one.")
                        % {"status": target.get_status_display()},
                        code="target_closed",
                    )
                }
            )
        if target.neighbourhood_id != source.neighbourhood_id:
            raise ValidationError(
                {
                    "into": ValidationError(
                        _("The report to merge into is in another neighbourhood."),
                        code="target_elsewhere",
                    )
                }
            )
        if not may_handle(actor, target):
            raise ValidationError(
                {
                    "into": ValidationError(
                        _("You do not handle the report to merge into."), code="target_not_yours"
                    )
                }
            )
        source_followers = set(source.follows.values_list("user_id", flat=True))
        target_followers = set(target.follows.values_list("user_id", flat=True))
        for model in (Upvote, Follow):
            there = set(model.objects.filter(issue=target).values_list("user_id", flat=True))
            model.objects.filter(issue=source).exclude(user_id__in=there).update(issue=target)
        _recount(source, target)

        source.status = Status.MERGED
        source.merged_into = target
        source.reason = reason
        source.closed_at = now
        source.due_at = None
        merged = step(
            source,
            kind=EventKind.MERGED,
            now=now,
            actor=actor,
            text=reason,
            data={"into": target.pk},
        )
        _save(
            source,
            "status",
            "merged_into",
            "reason",
            "closed_at",
            "due_at",
            "upvote_count",
            "follower_count",
        )
        merged_in = step(
            target,
            kind=EventKind.MERGED_IN,
            now=now,
            actor=actor,
            text=reason,
            data={"from": source.pk},
        )
        _save(target, "upvote_count", "follower_count")
        _notify_users(source, merged, source_followers, actor)
        _notify_users(target, merged_in, target_followers, actor)
        publish(source, EVENT_UPDATED)
        publish(target, EVENT_UPDATED)
    return source


def _recount(*issues: Issue) -> None:
    """Set the counts from the rows (inside the locks)."""
    ids = [i.pk for i in issues]
    upvotes = dict(
        Upvote.objects.filter(issue_id__in=ids)
        .values("issue_id")
        .annotate(n=Count("id"))
        .values_list("issue_id", "n")
    )
    follows = dict(
        Follow.objects.filter(issue_id__in=ids)
        .values("issue_id")
        .annotate(n=Count("id"))
        .values_list("issue_id", "n")
    )
    for issue in issues:
        issue.upvote_count = upvotes.get(issue.pk, 0)
        issue.follower_count = follows.get(issue.pk, 0)


def _notify_users(issue: Issue, event: IssueEvent, user_ids, actor, *, extra=()) -> None:
    from accounts.models import User

    ids = set(user_ids) - {getattr(actor, "pk", None)}
    users = list(User.objects.filter(pk__in=ids, is_active=True)) + [
        u for u in extra if u.pk not in ids and u.pk != getattr(actor, "pk", None)
    ]
    notify_step(issue, event, users)


# --- the reporter's moves ------------------------------------------------------------------


def _to_handlers(issue: Issue, event: IssueEvent, actor) -> None:
    """A reporter's step is news for the handlers too (and for the other followers)."""
    followers = set(issue.follows.values_list("user_id", flat=True))
    _notify_users(issue, event, followers, actor, extra=routing.handler_recipients(issue))
    publish(issue, EVENT_UPDATED)


def issue_confirm(*, issue: Issue, actor, rating: int, comment: str = "", now=None) -> Issue:
    """The reporter confirms the fix and rates it 1–5 (满意度)."""
    now = now_or(now)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError({"rating": ValidationError(_("Rate from 1 to 5."), code="rating")})
    comment = optional_text(comment, field="comment", max_length=REASON_MAX)
    with transaction.atomic():
        issue = locked(issue.pk)
        check_move(issue, Move.CONFIRM)
        check_reporter(actor, issue)
        issue.status = Status.CLOSED
        issue.closed_at = now
        issue.rating = rating
        issue.rating_comment = comment
        event = step(
            issue,
            kind=EventKind.CONFIRMED,
            now=now,
            actor=actor,
            text=comment,
            data={"rating": rating},
        )
        _save(issue, "status", "closed_at", "rating", "rating_comment")
        _to_handlers(issue, event, actor)
    return issue


def issue_reopen(*, issue: Issue, actor, reason: str, now=None) -> Issue:
    """The reporter says it is not fixed: back in progress, the handler commits again."""
    now = now_or(now)
    reason = required_text(reason, field="reason", max_length=REASON_MAX)
    with transaction.atomic():
        issue = locked(issue.pk)
        check_move(issue, Move.REOPEN)
        check_reporter(actor, issue)
        previous = issue.status
        issue.status = Status.IN_PROGRESS
        issue.reopen_count += 1
        issue.resolved_at = None
        issue.closed_at = None
        issue.committed_due = None
        issue.rating = None
        issue.rating_comment = ""
        issue.due_at = routing.commit_window(issue, now)
        event = step(
            issue,
            kind=EventKind.REOPENED,
            now=now,
            actor=actor,
            text=reason,
            data={"from": previous},
        )
        _save(
            issue,
            "status",
            "reopen_count",
            "resolved_at",
            "closed_at",
            "committed_due",
            "rating",
            "rating_comment",
            "due_at",
        )
        _to_handlers(issue, event, actor)
    return issue


# --- comments ------------------------------------------------------------------------------


def issue_comment(*, issue: Issue, actor, text: str, internal: bool = False, now=None):
    """A comment on the timeline (handlers, the reporter, residents of the neighbourhood),
    or an internal note (handlers only; not public, nobody notified)."""
    now = now_or(now)
    text = required_text(text, field="text")
    with transaction.atomic():
        issue = locked(issue.pk)
        handler = may_handle(actor, issue)
        if internal:
            if not handler:
                raise PermissionDenied(_("You do not handle this report."))
            event = step(issue, kind=EventKind.NOTE, now=now, actor=actor, text=text, public=False)
            return event
        is_reporter = actor is not None and actor.pk == issue.reporter_id
        if not (handler or is_reporter or may_upvote(actor, issue)):
            raise PermissionDenied(_("Only residents of this neighbourhood may comment."))
        if issue.status in FINAL_STATUSES and not handler:
            raise ValidationError(
                _("This report is %(status)s; comments are closed.")
                % {"status": issue.get_status_display()},
                code="transition",
            )
        event = step(issue, kind=EventKind.COMMENT, now=now, actor=actor, text=text)
        _save(issue)
        after_public_step(issue, event, actor=actor)
    return event
