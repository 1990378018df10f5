"""The periodic moves: escalation past a deadline (约请制) and auto-close.

``issues_escalate_due`` (every 5 minutes): an open report past its ``due_at`` and held
below the department level climbs one level (property → committee → department), gets
an "escalated" step and a new deadline (``acknowledge_hours`` from now); the new holders,
the committee and the followers are told. Each row is locked (ordered by pk) and checked
again under the lock, so two runs at once, or one after another, escalate it once. A
department-level report past due stays overdue: there is no level above.

``issues_auto_close_due`` (hourly): a report resolved ``LINLI_ISSUE_AUTO_CLOSE_DAYS``
(7) days ago and not confirmed by its reporter is closed with an "auto_closed" step.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import NEXT_LEVEL, OPEN_STATUSES, EventKind, HandlerLevel, Issue, Move, Status
from . import routing
from .timeline import (
    EVENT_UPDATED,
    KIND_ESCALATED,
    after_public_step,
    follower_users,
    link,
    notice_context,
    now_or,
    publish,
    step,
    system_label,
)
from .workflow import _JOINED

BATCH = 200


def auto_close_days() -> int:
    return int(getattr(settings, "LINLI_ISSUE_AUTO_CLOSE_DAYS", 7))


def _due_for_escalation(now):
    return Issue.objects.filter(
        status__in=OPEN_STATUSES,
        due_at__lt=now,
        handler_level__in=[HandlerLevel.PROPERTY, HandlerLevel.COMMITTEE],
    )


def issues_escalate_due(*, now=None) -> int:
    """Escalate every report past its deadline one level; returns how many."""
    now = now_or(now)
    ids = list(_due_for_escalation(now).order_by("pk").values_list("pk", flat=True))
    count = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with transaction.atomic():
            rows = (
                _due_for_escalation(now)
                .filter(pk__in=chunk)
                .select_for_update(of=("self",))
                .select_related(*_JOINED)
                .order_by("pk")
            )
            for issue in rows:  # re-checked under the lock by the query itself
                _escalate(issue, now)
                count += 1
    return count


def _escalate(issue: Issue, now: datetime.datetime) -> None:
    from_level = issue.handler_level
    lapsed = issue.due_at
    committee_before = routing.committee_members(issue)
    routing.assign_level(issue, NEXT_LEVEL[from_level])
    issue.escalations += 1
    issue.due_at = now + datetime.timedelta(hours=issue.category.acknowledge_hours)
    data = {
        "from": from_level,
        "to": issue.handler_level,
        "due": lapsed.isoformat() if lapsed else None,
        "department": issue.department_id,
    }
    text = _("No answer by the deadline: now with %(handler)s.") % {"handler": issue.handler_label}
    event = step(
        issue, kind=EventKind.ESCALATED, now=now, label=system_label(), text=text, data=data
    )
    issue.save(
        update_fields=[
            "handler_level",
            "department",
            "property_company",
            "escalations",
            "due_at",
            "activity_at",
            "updated_at",
        ]
    )
    _notify_escalated(issue, event, committee_before)
    publish(issue, EVENT_UPDATED)


def _notify_escalated(issue: Issue, event, committee) -> None:
    from notifications.services import notify

    handlers = routing.handler_recipients(issue)
    recipients = {u.pk: u for u in [*handlers, *committee]}
    notify(
        recipients=list(recipients.values()),
        kind=KIND_ESCALATED,
        obj=issue,
        context=notice_context(issue, event),
        key=f"event-{event.pk}",
        neighbourhood=issue.neighbourhood_id,
        url=link("issues:handle", issue.pk),
        now=event.created_at,
    )
    from .timeline import notify_step

    followers = [u for u in follower_users(issue) if u.pk not in recipients]
    notify_step(issue, event, followers)


def _due_for_close(now):
    cutoff = now - datetime.timedelta(days=auto_close_days())
    return Issue.objects.filter(status=Status.RESOLVED, resolved_at__lte=cutoff)


def issues_auto_close_due(*, now=None) -> int:
    """Close the reports resolved long enough ago; returns how many. Idempotent."""
    now = now_or(now)
    ids = list(_due_for_close(now).order_by("pk").values_list("pk", flat=True))
    count = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with transaction.atomic():
            rows = (
                _due_for_close(now)
                .filter(pk__in=chunk)
                .select_for_update(of=("self",))
                .select_related(*_JOINED)
                .order_by("pk")
            )
            for issue in rows:
                if not issue.allowed(Move.AUTO_CLOSE):  # pragma: no cover - the query says so
                    continue
                issue.status = Status.CLOSED
                issue.closed_at = now
                event = step(
                    issue,
                    kind=EventKind.AUTO_CLOSED,
                    now=now,
                    label=system_label(),
                    data={"days": auto_close_days()},
                )
                issue.save(update_fields=["status", "closed_at", "activity_at", "updated_at"])
                after_public_step(issue, event)
                count += 1
    return count
