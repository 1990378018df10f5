"""The moves of a report (issues.services.workflow): the transitions table, who may move,
what each move writes, and merge."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from issues.models import (
    TRANSITIONS,
    EventKind,
    Follow,
    Issue,
    IssueEvent,
    Move,
    Status,
    Upvote,
)
from issues.services import (
    issue_acknowledge,
    issue_bulk_acknowledge,
    issue_comment,
    issue_commit,
    issue_confirm,
    issue_follow_toggle,
    issue_merge,
    issue_progress,
    issue_reject,
    issue_reopen,
    issue_resolve,
    issue_upvote_toggle,
    issues_auto_close_due,
)
from issues.services.routing import end_of_day

from .factories import verified_resident
from .helpers import notified_ids, report

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


def set_status(issue, status):
    Issue.objects.filter(pk=issue.pk).update(status=status, resolved_at=timezone.now())
    issue.refresh_from_db()
    return issue


def do(move, issue, w, **extra):
    """Call the service of ``move`` with valid arguments."""
    handler, reporter = w.a.property_staff, w.a.resident
    if move == Move.ACKNOWLEDGE:
        return issue_acknowledge(issue=issue, actor=handler, **extra)
    if move == Move.COMMIT:
        return issue_commit(issue=issue, actor=handler, committed_due=TOMORROW, **extra)
    if move == Move.PROGRESS:
        return issue_progress(issue=issue, actor=handler, text="已联系施工队", **extra)
    if move == Move.RESOLVE:
        return issue_resolve(issue=issue, actor=handler, note="杂物已清理", **extra)
    if move == Move.CONFIRM:
        return issue_confirm(issue=issue, actor=reporter, rating=5, **extra)
    if move == Move.REOPEN:
        return issue_reopen(issue=issue, actor=reporter, reason="又堆上了", **extra)
    if move == Move.REJECT:
        return issue_reject(issue=issue, actor=handler, reason="不属于物业范围", **extra)
    if move == Move.MERGE:
        into = extra.pop("into", None) or report(w, description="同一处杂物")
        return issue_merge(issue=issue, actor=handler, into=into, reason="重复", **extra)
    raise AssertionError(move)


REFUSED = [
    (move, status)
    for move, (sources, _target) in TRANSITIONS.items()
    for status in Status.values
    if status not in sources
]
ALLOWED = [(move, status) for move, (sources, _target) in TRANSITIONS.items() for status in sources]


@pytest.mark.parametrize(("move", "status"), REFUSED)
def test_a_move_the_status_does_not_allow_is_refused(issue_world, move, status):
    w = issue_world
    issue = set_status(report(w), status)
    extra = {"into": report(w)} if move == Move.MERGE else {}
    before = Issue.objects.filter(pk=issue.pk).values().get()
    events = IssueEvent.objects.count()
    if move == Move.AUTO_CLOSE:
        assert issues_auto_close_due(now=timezone.now() + datetime.timedelta(days=30)) == 0
    else:
        with pytest.raises(ValidationError) as error:
            do(move, issue, w, **extra)
        assert error.value.code == "transition"
        assert str(Status(status).label) in error.value.messages[0]
    assert Issue.objects.filter(pk=issue.pk).values().get() == before
    assert IssueEvent.objects.count() == events


@pytest.mark.parametrize(("move", "status"), ALLOWED)
def test_a_move_the_status_allows_leads_to_its_status(issue_world, move, status):
    w = issue_world
    issue = set_status(report(w), status)
    if move == Move.AUTO_CLOSE:
        assert issues_auto_close_due(now=timezone.now() + datetime.timedelta(days=8)) == 1
        issue.refresh_from_db()
    else:
        issue = do(move, issue, w)
    assert issue.status == TRANSITIONS[move][1]
    issue.refresh_from_db()
    assert issue.status == TRANSITIONS[move][1]


HANDLER_MOVES = [
    Move.ACKNOWLEDGE,
    Move.COMMIT,
    Move.PROGRESS,
    Move.RESOLVE,
    Move.REJECT,
    Move.MERGE,
]
START = {
    Move.ACKNOWLEDGE: Status.SUBMITTED,
    Move.COMMIT: Status.ACKNOWLEDGED,
    Move.PROGRESS: Status.IN_PROGRESS,
    Move.RESOLVE: Status.IN_PROGRESS,
    Move.REJECT: Status.SUBMITTED,
    Move.MERGE: Status.SUBMITTED,
    Move.CONFIRM: Status.RESOLVED,
    Move.REOPEN: Status.RESOLVED,
}


@pytest.mark.parametrize("move", HANDLER_MOVES)
@pytest.mark.parametrize("who", ["reporter", "other_property", "other_cadre", "nobody"])
def test_only_handlers_of_the_place_move(issue_world, move, who):
    w = issue_world
    actor = {
        "reporter": w.a.resident,
        "other_property": w.b.property_staff,
        "other_cadre": w.b.cadre,
        "nobody": None,
    }[who]
    issue = set_status(report(w), START[move])
    w.a.property_staff = actor  # do() acts as the "handler"
    with pytest.raises(PermissionDenied):
        do(move, issue, w)
    assert Issue.objects.get(pk=issue.pk).status == START[move]


@pytest.mark.parametrize("move", [Move.CONFIRM, Move.REOPEN])
@pytest.mark.parametrize("who", ["handler", "neighbour", "cadre"])
def test_only_the_reporter_confirms_and_reopens(issue_world, move, who):
    w = issue_world
    issue = set_status(report(w), START[move])
    w.a.resident = {"handler": w.a.property_staff, "neighbour": w.a.neighbour, "cadre": w.a.cadre}[
        who
    ]
    with pytest.raises(PermissionDenied):
        do(move, issue, w)
    assert Issue.objects.get(pk=issue.pk).status == START[move]


@pytest.mark.parametrize("handler", ["property_staff", "cadre", "department_staff"])
def test_every_level_of_the_place_may_handle(issue_world, handler):
    w = issue_world
    actor = w.department_staff if handler == "department_staff" else getattr(w.a, handler)
    issue = issue_acknowledge(issue=report(w), actor=actor)
    assert issue.status == Status.ACKNOWLEDGED
    label = {
        "property_staff": "甲物业有限公司",
        "cadre": gettext("%(name)s committee") % {"name": "甲居民区"},
        "department_staff": "城管中队",
    }[handler]
    assert issue.events.get(kind=EventKind.ACKNOWLEDGED).actor_label == label


# --- what each move writes ------------------------------------------------------------------


def test_the_whole_way(issue_world):
    w = issue_world
    t0 = timezone.now().replace(microsecond=0)
    issue = report(w, now=t0)
    issue_upvote_toggle(issue=issue, user=w.a.neighbour)  # a second follower

    t1 = t0 + datetime.timedelta(hours=2)
    issue = issue_acknowledge(issue=issue, actor=w.a.property_staff, note="已受理", now=t1)
    assert issue.acknowledged_at == t1
    assert issue.due_at == t1 + datetime.timedelta(hours=w.noise.acknowledge_hours)
    assert issue.activity_at == t1
    step = issue.events.get(kind=EventKind.ACKNOWLEDGED)
    assert step.public and step.actor_label == "甲物业有限公司" and step.text == "已受理"
    # followers hear of it, the actor does not
    assert notified_ids("issue.update", issue) == {w.a.resident.pk, w.a.neighbour.pk}

    t2 = t1 + datetime.timedelta(hours=1)
    day = timezone.localdate(t2) + datetime.timedelta(days=3)
    issue = issue_commit(issue=issue, actor=w.a.property_staff, committed_due=day, now=t2)
    assert issue.status == Status.IN_PROGRESS and issue.committed_due == day
    assert issue.due_at == end_of_day(day)
    assert timezone.localtime(issue.due_at).date() == day + datetime.timedelta(days=1)
    assert issue.events.get(kind=EventKind.COMMITTED).data == {"date": day.isoformat()}

    t3 = t2 + datetime.timedelta(hours=1)
    issue = issue_progress(issue=issue, actor=w.a.property_staff, text="清运车已安排", now=t3)
    assert issue.activity_at == t3

    t4 = t3 + datetime.timedelta(hours=1)
    issue = issue_resolve(issue=issue, actor=w.a.property_staff, note="已清理", now=t4)
    assert issue.status == Status.RESOLVED and issue.resolved_at == t4 and issue.due_at is None
    assert issue.resolution_note == "已清理"

    t5 = t4 + datetime.timedelta(hours=1)
    issue = issue_reopen(issue=issue, actor=w.a.resident, reason="又堆上了", now=t5)
    assert issue.status == Status.IN_PROGRESS and issue.reopen_count == 1
    assert issue.resolved_at is None and issue.committed_due is None
    assert issue.due_at == t5 + datetime.timedelta(hours=w.noise.acknowledge_hours)
    # the handlers hear of a reopen
    assert w.a.property_staff.pk in notified_ids("issue.update", issue)

    issue = issue_resolve(issue=issue, actor=w.a.property_staff, note="再次清理", now=t5)
    issue = issue_confirm(issue=issue, actor=w.a.resident, rating=4, comment="谢谢", now=t5)
    assert issue.status == Status.CLOSED and issue.closed_at == t5
    assert (issue.rating, issue.rating_comment) == (4, "谢谢")

    kinds = list(issue.events.values_list("kind", flat=True))
    assert kinds == [
        "submitted",
        "acknowledged",
        "committed",
        "progress",
        "resolved",
        "reopened",
        "resolved",
        "confirmed",
    ]


def test_commit_refuses_a_past_date(issue_world):
    w = issue_world
    issue = issue_acknowledge(issue=report(w), actor=w.a.property_staff)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        issue_commit(issue=issue, actor=w.a.property_staff, committed_due=yesterday)
    assert "committed_due" in error.value.message_dict
    issue = issue_commit(issue=issue, actor=w.a.property_staff, committed_due=timezone.localdate())
    assert issue.status == Status.IN_PROGRESS


@pytest.mark.parametrize(
    ("service", "kwargs", "field"),
    [
        (issue_resolve, {"note": "  "}, "note"),
        (issue_reject, {"reason": ""}, "reason"),
        (issue_progress, {"text": ""}, "text"),
    ],
)
def test_notes_and_reasons_are_required(issue_world, service, kwargs, field):
    w = issue_world
    issue = set_status(report(w), Status.IN_PROGRESS)
    with pytest.raises(ValidationError) as error:
        service(issue=issue, actor=w.a.property_staff, **kwargs)
    assert field in error.value.message_dict


@pytest.mark.parametrize("rating", [0, 6, "5", None, True, 2.5])
def test_rating_is_1_to_5(issue_world, rating):
    w = issue_world
    issue = set_status(report(w), Status.RESOLVED)
    with pytest.raises(ValidationError) as error:
        issue_confirm(issue=issue, actor=w.a.resident, rating=rating)
    assert "rating" in error.value.message_dict
    assert Issue.objects.get(pk=issue.pk).status == Status.RESOLVED


def test_reject(issue_world):
    w = issue_world
    issue = issue_reject(issue=report(w), actor=w.a.cadre, reason="重复上报")
    assert issue.status == Status.REJECTED and issue.reason == "重复上报"
    assert issue.due_at is None and issue.closed_at is not None
    assert issue.events.get(kind=EventKind.REJECTED).actor_label == gettext(
        "%(name)s committee"
    ) % {"name": "甲居民区"}


def test_comments_and_internal_notes(issue_world):
    w = issue_world
    issue = report(w)
    event = issue_comment(issue=issue, actor=w.a.neighbour, text="我家门口也是")
    assert event.public and event.kind == EventKind.COMMENT
    assert w.a.resident.pk in notified_ids("issue.update", issue)
    before = notified_ids("issue.update", issue)
    note = issue_comment(issue=issue, actor=w.a.property_staff, text="此户多次投诉", internal=True)
    assert not note.public and note.kind == EventKind.NOTE
    assert notified_ids("issue.update", issue) == before  # nobody hears of a note
    with pytest.raises(PermissionDenied):
        issue_comment(issue=issue, actor=w.a.resident, text="x", internal=True)
    with pytest.raises(PermissionDenied):
        issue_comment(issue=issue, actor=w.b.resident, text="x")


def test_bulk_acknowledge_takes_only_what_the_actor_handles(issue_world):
    w = issue_world
    mine = [report(w), report(w)]
    theirs = report(w, side=w.b)
    done = set_status(report(w), Status.RESOLVED)
    count = issue_bulk_acknowledge(
        issue_ids=[i.pk for i in (*mine, theirs, done)], actor=w.a.property_staff
    )
    assert count == 2
    statuses = dict(Issue.objects.values_list("pk", "status"))
    assert [statuses[i.pk] for i in mine] == [Status.ACKNOWLEDGED] * 2
    assert statuses[theirs.pk] == Status.SUBMITTED and statuses[done.pk] == Status.RESOLVED


# --- merge ---------------------------------------------------------------------------------


def test_merge_carries_upvotes_and_followers_once(issue_world):
    w = issue_world
    third = verified_resident(w.a.dwelling, name="甲三")
    target = report(w, reporter=w.a.neighbour)
    source = report(w)
    issue_upvote_toggle(issue=target, user=third)  # on both
    issue_upvote_toggle(issue=source, user=third)
    issue_upvote_toggle(issue=source, user=w.a.neighbour)  # target's reporter, not upvoter
    source = issue_merge(issue=source, actor=w.a.property_staff, into=target, reason="同一处")
    target.refresh_from_db()

    assert source.status == Status.MERGED and source.merged_into_id == target.pk
    assert source.due_at is None
    assert set(Upvote.objects.filter(issue=target).values_list("user_id", flat=True)) == {
        third.pk,
        w.a.neighbour.pk,
    }
    assert set(Follow.objects.filter(issue=target).values_list("user_id", flat=True)) == {
        third.pk,
        w.a.neighbour.pk,
        w.a.resident.pk,
    }
    for issue in (source, target):
        issue.refresh_from_db()
        assert issue.upvote_count == Upvote.objects.filter(issue=issue).count()
        assert issue.follower_count == Follow.objects.filter(issue=issue).count()
    assert target.upvote_count == 2 and target.follower_count == 3
    assert source.events.filter(kind=EventKind.MERGED, data__into=target.pk).exists()
    assert target.events.get(kind=EventKind.MERGED_IN).data == {"from": source.pk}
    # the source's followers hear of the merge
    assert w.a.resident.pk in notified_ids("issue.update", source)


def test_merge_refusals(issue_world):
    w = issue_world
    source = report(w)
    with pytest.raises(ValidationError) as error:
        issue_merge(issue=source, actor=w.a.property_staff, into=source, reason="x")
    assert "into" in error.value.message_dict
    closed = set_status(report(w), Status.CLOSED)
    with pytest.raises(ValidationError) as error:
        issue_merge(issue=source, actor=w.a.property_staff, into=closed, reason="x")
    assert "into" in error.value.message_dict
    elsewhere = report(w, side=w.b)
    superuser_like = w.department_staff  # handles both neighbourhoods of the subdistrict
    with pytest.raises(ValidationError) as error:
        issue_merge(issue=source, actor=superuser_like, into=elsewhere, reason="x")
    assert "into" in error.value.message_dict
    street = report(w, building=None, neighbourhood=w.a.neighbourhood, address="友谊路")
    with pytest.raises(ValidationError) as error:  # not the property company's
        issue_merge(issue=source, actor=w.a.property_staff, into=street, reason="x")
    assert error.value.error_dict["into"][0].code == "target_not_yours"
    with pytest.raises(ValidationError) as error:
        issue_merge(issue=source, actor=w.a.property_staff, into=report(w), reason=" ")
    assert "reason" in error.value.message_dict
    assert Issue.objects.get(pk=source.pk).status == Status.SUBMITTED


def test_follow_toggle(issue_world):
    w = issue_world
    issue = report(w)
    assert issue_follow_toggle(issue=issue, user=w.a.neighbour) is True
    assert Issue.objects.get(pk=issue.pk).follower_count == 2
    assert issue_follow_toggle(issue=issue, user=w.a.neighbour) is False
    assert issue_follow_toggle(issue=issue, user=w.a.resident) is False  # the reporter too
    assert Issue.objects.get(pk=issue.pk).follower_count == 0
    with pytest.raises(PermissionDenied):
        issue_follow_toggle(issue=issue, user=w.b.resident)


def test_an_api_key_client_moves_reports_of_its_jurisdiction(issue_world):
    from core.api.authentication import ApiKeyPrincipal
    from core.services import api_key_create
    from tests.factories import UserFactory

    w = issue_world
    key, _full = api_key_create(
        name="区网格平台",
        scopes=["issues:write"],
        place=w.a.neighbourhood,
        created_by=UserFactory(),
    )
    client = ApiKeyPrincipal(key)
    issue = issue_acknowledge(issue=report(w), actor=client, note="平台受理")
    step = issue.events.get(kind=EventKind.ACKNOWLEDGED)
    assert step.actor_id is None and step.actor_label == "区网格平台"
    issue_comment(issue=issue, actor=client, text="内部", internal=True)
    with pytest.raises(PermissionDenied):
        issue_acknowledge(issue=report(w, side=w.b), actor=client)
    with pytest.raises(PermissionDenied):
        issue_confirm(issue=set_status(issue, Status.RESOLVED), actor=client, rating=5)
