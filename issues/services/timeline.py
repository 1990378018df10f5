"""The shared parts of every write: a timeline step, who acted as shown, the notices to
followers and the webhook payload.

A public step bumps the report's ``activity_at`` (the "recently updated" order), tells the
followers (not the actor) once per step (``notify(key="event-<id>")``) and publishes
``issue.updated``. Notices and webhook deliveries are written inside the caller's
transaction (the notifications and webhooks outboxes send them after commit), so a
rolled-back move tells nobody.
"""

from __future__ import annotations

import datetime

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Issue, IssueEvent

KIND_NEW = "issue.new"
KIND_UPDATE = "issue.update"
KIND_ESCALATED = "issue.escalated"

EVENT_CREATED = "issue.created"
EVENT_UPDATED = "issue.updated"
EVENT_RESOLVED = "issue.resolved"


def now_or(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def link(name: str, pk: int) -> str:
    """A page of the report (empty while the pages are not wired)."""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def reporter_label(issue: Issue) -> str:
    """The reporter as shown: their name if they chose so, else "a resident"."""
    reporter = issue.reporter
    if reporter is not None and issue.reporter_public and reporter.name:
        return reporter.name
    return _("a resident")


def system_label() -> str:
    return _("Linli (automatic)")


def as_user(actor):
    """``actor`` if it is a user (an API-key principal is not: rows record no user)."""
    from django.contrib.auth import get_user_model

    return actor if isinstance(actor, get_user_model()) else None


def actor_label(issue: Issue, actor) -> str:
    """Who acted, as the timeline shows it: the reporter as they chose, else the body the
    handler acts for: their department, the estate's property company, the committee."""
    if actor is None:
        return system_label()
    api_key = getattr(actor, "api_key", None)
    if as_user(actor) is None and api_key is not None:  # an API-key client
        return (api_key.name or str(actor))[:100]
    if issue.reporter_id is not None and actor.pk == issue.reporter_id:
        return reporter_label(issue)
    from buildings.permissions import HANDLE_ISSUES
    from core.scoping import scope_for

    scope = scope_for(actor, HANDLE_ISSUES)
    if scope.everything:
        return (actor.name or "")[:100]
    wide = issue.subdistrict_id in scope.subdistrict_ids or issue.district_id in scope.district_ids
    if wide:  # department or district staff
        department = actor.departments.filter(subdistrict_id=issue.subdistrict_id).first()
        return (department.name if department else actor.name or "")[:100]
    if issue.neighbourhood_id in scope.neighbourhood_ids:
        return (_("%(name)s committee") % {"name": issue.neighbourhood.name})[:100]
    if issue.estate_id is not None and issue.estate_id in scope.estate_ids:
        company = issue.estate.property_company
        if company is not None:
            return company.name[:100]
    return (actor.name or "")[:100]


def step(
    issue: Issue,
    *,
    kind: str,
    now: datetime.datetime,
    actor=None,
    label: str | None = None,
    text: str = "",
    data: dict | None = None,
    public: bool = True,
) -> IssueEvent:
    """Write one timeline step; a public one sets ``issue.activity_at`` (saved by the
    caller, which lists "activity_at" in its update_fields)."""
    event = IssueEvent.objects.create(
        issue=issue,
        kind=kind,
        public=public,
        actor=as_user(actor),
        actor_label=label if label is not None else actor_label(issue, actor),
        text=text,
        data=data or {},
        created_at=now,
    )
    if public:
        issue.activity_at = now
    return event


def follower_users(issue: Issue, *, exclude=None) -> list:
    from accounts.models import User

    exclude_ids = {getattr(u, "pk", u) for u in (exclude or ()) if u is not None}
    users = User.objects.filter(pk__in=issue.follows.values("user_id"), is_active=True).exclude(
        pk__in=exclude_ids
    )
    return list(users)


def notify_followers(issue: Issue, event: IssueEvent, *, actor=None) -> None:
    """Tell the followers (not the actor) about a public step, once per step."""
    if not event.public:
        return
    notify_step(issue, event, follower_users(issue, exclude=[actor]))


def notify_step(issue: Issue, event: IssueEvent, recipients) -> None:
    """The "update on a report" notice of one step to ``recipients``, once per step."""
    from notifications.services import notify

    notify(
        recipients=recipients,
        kind=KIND_UPDATE,
        obj=issue,
        context=notice_context(issue, event),
        key=f"event-{event.pk}",
        neighbourhood=issue.neighbourhood_id,
        url=link("issues:detail", issue.pk),
        now=event.created_at,
    )


def notice_context(issue: Issue, event: IssueEvent | None = None) -> dict:
    return {
        "issue": issue,
        "number": issue.pk,
        "category": issue.category.name,
        "place": place_label(issue),
        "status": issue.get_status_display(),
        "event": event,
        "step": event.get_kind_display() if event is not None else "",
        "text": (event.text if event is not None else "")[:200],
    }


def place_label(issue: Issue) -> str:
    if issue.building_id:
        return f"{issue.building.estate.name} {issue.building.number}"
    if issue.estate_id:
        return issue.estate.name
    return issue.address or issue.neighbourhood.name


def payload(issue: Issue) -> dict:
    """The webhook body of a report (never the contact fields)."""
    return {
        "id": issue.pk,
        "service_code": issue.category.code,
        "status": issue.status,
        "handler_level": issue.handler_level,
        "department": issue.department.code if issue.department_id else None,
        "escalations": issue.escalations,
        "neighbourhood_id": issue.neighbourhood_id,
        "estate_id": issue.estate_id,
        "building_id": issue.building_id,
        "address": issue.address,
        "latitude": str(issue.latitude) if issue.latitude is not None else None,
        "longitude": str(issue.longitude) if issue.longitude is not None else None,
        "description": issue.description,
        "source": issue.source,
        "upvote_count": issue.upvote_count,
        "committed_due": issue.committed_due.isoformat() if issue.committed_due else None,
        "due_at": issue.due_at.isoformat() if issue.due_at else None,
        "resolution_note": issue.resolution_note,
        "requested_datetime": issue.created_at.isoformat() if issue.created_at else None,
        "updated_datetime": issue.activity_at.isoformat() if issue.activity_at else None,
    }


def publish(issue: Issue, *events: str) -> None:
    """Record the webhook deliveries of ``events`` (inside the writer's transaction)."""
    from webhooks.services import publish as webhook_publish

    body = payload(issue)
    for event in events:
        webhook_publish(event, body, neighbourhood_id=issue.neighbourhood_id)


def after_public_step(issue: Issue, event: IssueEvent, *, actor=None, resolved=False) -> None:
    """Notify the followers and publish issue.updated (and issue.resolved)."""
    notify_followers(issue, event, actor=actor)
    publish(issue, EVENT_UPDATED, *((EVENT_RESOLVED,) if resolved else ()))
