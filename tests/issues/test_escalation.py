"""Escalation past a deadline (约请制) and auto-close (issues.services.escalation)."""

import datetime

import pytest
from django.utils import timezone

from issues.models import EventKind, HandlerLevel, Issue, Status
from issues.services import (
    issue_acknowledge,
    issue_commit,
    issue_resolve,
    issues_auto_close_due,
    issues_escalate_due,
)
from issues.services.routing import end_of_day

from .helpers import notified_ids, report

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def test_property_to_committee_to_department(issue_world):
    w = issue_world
    t0 = timezone.now().replace(microsecond=0)
    issue = report(w, now=t0)
    first_due = issue.due_at
    assert issues_escalate_due(now=first_due - HOUR) == 0  # not yet

    t1 = first_due + HOUR
    assert issues_escalate_due(now=t1) == 1
    issue.refresh_from_db()
    assert issue.handler_level == HandlerLevel.COMMITTEE and issue.escalations == 1
    assert issue.due_at == t1 + datetime.timedelta(hours=w.noise.acknowledge_hours)
    assert issue.activity_at == t1
    step = issue.events.get(kind=EventKind.ESCALATED)
    assert step.public and step.data["from"] == "property" and step.data["to"] == "committee"
    assert step.data["due"] == first_due.isoformat()
    assert notified_ids("issue.escalated", issue) == {w.a.cadre.pk}
    assert w.a.resident.pk in notified_ids("issue.update", issue)  # the follower

    t2 = issue.due_at + HOUR
    assert issues_escalate_due(now=t2) == 1
    issue.refresh_from_db()
    assert issue.handler_level == HandlerLevel.DEPARTMENT and issue.escalations == 2
    assert issue.department_id == w.department.pk
    assert issue.status == Status.SUBMITTED
    steps = list(issue.events.filter(kind=EventKind.ESCALATED).order_by("id"))
    assert [(s.data["from"], s.data["to"]) for s in steps] == [
        ("property", "committee"),
        ("committee", "department"),
    ]
    # the department and the committee hear of it
    assert notified_ids("issue.escalated", issue) == {w.a.cadre.pk, w.department_staff.pk}

    # no level above the department: the report stays overdue
    assert issues_escalate_due(now=issue.due_at + 100 * HOUR) == 0
    issue.refresh_from_db()
    assert issue.escalations == 2 and issue.handler_level == HandlerLevel.DEPARTMENT


def test_running_twice_escalates_once(issue_world):
    w = issue_world
    issue = report(w)
    later = issue.due_at + HOUR
    assert issues_escalate_due(now=later) == 1
    assert issues_escalate_due(now=later) == 0
    issue.refresh_from_db()
    assert issue.escalations == 1
    assert issue.events.filter(kind=EventKind.ESCALATED).count() == 1
    assert len(notified_ids("issue.escalated", issue)) == 1


def test_a_committee_report_escalates_to_the_department(issue_world):
    w = issue_world
    issue = report(w, category=w.passage)
    assert issues_escalate_due(now=issue.due_at + HOUR) == 1
    issue.refresh_from_db()
    assert issue.handler_level == HandlerLevel.DEPARTMENT


def test_acknowledged_and_committed_reports_have_their_own_deadlines(issue_world):
    w = issue_world
    t0 = timezone.now().replace(microsecond=0)
    issue = report(w, now=t0)
    issue = issue_acknowledge(issue=issue, actor=w.a.property_staff, now=t0 + HOUR)
    # the original acknowledge deadline passes: the new (commit) one holds
    assert issues_escalate_due(now=t0 + 24 * HOUR + datetime.timedelta(minutes=30)) == 0
    day = timezone.localdate(t0) + datetime.timedelta(days=5)
    issue = issue_commit(issue=issue, actor=w.a.property_staff, committed_due=day, now=t0 + HOUR)
    assert issues_escalate_due(now=end_of_day(day) - HOUR) == 0
    assert issues_escalate_due(now=end_of_day(day) + HOUR) == 1
    issue.refresh_from_db()
    assert issue.handler_level == HandlerLevel.COMMITTEE
    assert issue.status == Status.IN_PROGRESS  # the status is not the level


def test_resolved_reports_do_not_escalate(issue_world):
    w = issue_world
    issue = report(w)
    issue = issue_acknowledge(issue=issue, actor=w.a.property_staff)
    issue = issue_commit(issue=issue, actor=w.a.property_staff, committed_due=timezone.localdate())
    issue = issue_resolve(issue=issue, actor=w.a.property_staff, note="好了")
    assert issue.due_at is None
    assert issues_escalate_due(now=timezone.now() + 1000 * HOUR) == 0


def test_many_reports_escalate_in_one_run(issue_world):
    w = issue_world
    issues = [report(w) for _ in range(3)]
    later = max(i.due_at for i in issues) + HOUR
    assert issues_escalate_due(now=later) == 3
    assert set(Issue.objects.values_list("handler_level", flat=True)) == {"committee"}


# --- auto-close --------------------------------------------------------------------------


def _resolved(w, when):
    issue = report(w, now=when)
    issue = issue_acknowledge(issue=issue, actor=w.a.property_staff, now=when)
    issue = issue_commit(
        issue=issue, actor=w.a.property_staff, committed_due=timezone.localdate(when), now=when
    )
    return issue_resolve(issue=issue, actor=w.a.property_staff, note="已处理", now=when)


def test_auto_close_after_seven_days(issue_world):
    w = issue_world
    t0 = timezone.now().replace(microsecond=0)
    issue = _resolved(w, t0)
    assert issues_auto_close_due(now=t0 + datetime.timedelta(days=7) - HOUR) == 0
    later = t0 + datetime.timedelta(days=7, hours=1)
    assert issues_auto_close_due(now=later) == 1
    issue.refresh_from_db()
    assert issue.status == Status.CLOSED and issue.closed_at == later
    assert issue.rating is None
    step = issue.events.get(kind=EventKind.AUTO_CLOSED)
    assert step.public and step.actor_id is None
    assert w.a.resident.pk in notified_ids("issue.update", issue)
    # idempotent
    assert issues_auto_close_due(now=later + HOUR) == 0
    assert issue.events.filter(kind=EventKind.AUTO_CLOSED).count() == 1


def test_auto_close_days_is_a_setting(issue_world, settings):
    settings.LINLI_ISSUE_AUTO_CLOSE_DAYS = 2
    t0 = timezone.now().replace(microsecond=0)
    _resolved(issue_world, t0)
    assert issues_auto_close_due(now=t0 + datetime.timedelta(days=2, hours=1)) == 1


def test_tasks_and_beat(settings):
    from config.celery import app
    from issues import tasks

    for name, task in (
        ("issue-escalation", tasks.escalate_due),
        ("issue-auto-close", tasks.auto_close_due),
    ):
        entry = settings.CELERY_BEAT_SCHEDULE[name]
        assert entry["task"] == task.name and task.name in app.tasks
    assert settings.CELERY_BEAT_SCHEDULE["issue-escalation"]["schedule"] == 300.0
