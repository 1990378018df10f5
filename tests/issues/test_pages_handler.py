"""The handlers' pages: the inbox (scope, order, filters, bulk acknowledgement), a report's
workflow page and its moves, and reporting for a caller."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from issues.models import HandlerLevel, Issue, IssueEvent, Source, Status

from .factories import IssueFactory

pytestmark = pytest.mark.django_db


def _issue(world, side="a", **kwargs):
    place = getattr(world, side)
    kwargs.setdefault("category", world.noise)
    kwargs.setdefault("reporter", place.resident)
    return IssueFactory(building=place.building, **kwargs)


def _move(client, issue, name, data=None):
    prefixed = {f"{name}-{k}": v for k, v in (data or {}).items()}
    return client.post(reverse("issues:move", args=[issue.pk, name]), prefixed)


# --- the inbox ------------------------------------------------------------------------------


def test_property_staff_see_only_their_estates_reports(issue_world, login):
    mine = _issue(issue_world, description="甲小区的事")
    theirs = _issue(issue_world, "b", description="乙小区的事")
    page = login(issue_world.a.property_staff).get(reverse("issues:inbox"))
    assert page.status_code == 200
    rows = list(page.context["page_obj"].object_list)
    assert rows == [mine]
    assert theirs not in rows
    assert "乙小区的事" not in page.content.decode()


def test_a_resident_is_refused_the_inbox(issue_world, login):
    response = login(issue_world.a.resident).get(reverse("issues:inbox"))
    assert response.status_code == 403


def test_the_inbox_puts_overdue_first_and_marks_it(issue_world, login):
    now = timezone.now()
    later = _issue(issue_world, due_at=now + datetime.timedelta(hours=5))
    overdue = _issue(issue_world, due_at=now - datetime.timedelta(hours=1))
    page = login(issue_world.a.cadre).get(reverse("issues:inbox"))
    assert list(page.context["page_obj"].object_list) == [overdue, later]
    html = page.content.decode()
    assert html.count("issue-row--overdue") == 1
    overdue_only = login(issue_world.a.cadre).get(reverse("issues:inbox"), {"overdue": "on"})
    assert list(overdue_only.context["page_obj"].object_list) == [overdue]


def test_the_inbox_filters_by_status_and_level(issue_world, login):
    submitted = _issue(issue_world)
    in_progress = _issue(issue_world, status=Status.IN_PROGRESS)
    committee = _issue(
        issue_world, category=issue_world.passage, handler_level=HandlerLevel.COMMITTEE
    )
    client = login(issue_world.a.cadre)
    by_status = client.get(reverse("issues:inbox"), {"status": "in_progress"})
    assert list(by_status.context["page_obj"].object_list) == [in_progress]
    by_level = client.get(reverse("issues:inbox"), {"level": "committee"})
    assert list(by_level.context["page_obj"].object_list) == [committee]
    everything = client.get(reverse("issues:inbox"))
    assert set(everything.context["page_obj"].object_list) == {submitted, in_progress, committee}


@pytest.mark.parametrize("count", [1, 25])
def test_the_inbox_has_a_fixed_number_of_queries(
    issue_world, login, count, django_assert_max_num_queries
):
    for _ in range(count):
        _issue(issue_world)
    client = login(issue_world.a.cadre)
    client.get(reverse("issues:inbox"))  # warm the session, scope and content types
    with django_assert_max_num_queries(12):
        response = client.get(reverse("issues:inbox"))
    assert len(response.context["page_obj"].object_list) == min(count, 20)


def test_acknowledge_selected(issue_world, login):
    one, two = _issue(issue_world), _issue(issue_world)
    foreign = _issue(issue_world, "b")
    client = login(issue_world.a.property_staff)
    response = client.post(
        reverse("issues:bulk_acknowledge"), {"issues": [one.pk, two.pk, foreign.pk]}
    )
    assert response.status_code == 302
    statuses = dict(Issue.objects.values_list("pk", "status"))
    assert statuses[one.pk] == statuses[two.pk] == Status.ACKNOWLEDGED
    assert statuses[foreign.pk] == Status.SUBMITTED


# --- one report -----------------------------------------------------------------------------


def test_cadre_b_gets_404_on_as_handle_page_and_moves(issue_world, login):
    issue = _issue(issue_world)
    client = login(issue_world.b.cadre)
    assert client.get(reverse("issues:handle", args=[issue.pk])).status_code == 404
    for name in ("acknowledge", "reject", "note"):
        assert _move(client, issue, name, {"reason": "x", "text": "x"}).status_code == 404
    issue.refresh_from_db()
    assert issue.status == Status.SUBMITTED
    assert (
        login(issue_world.b.resident).get(reverse("issues:handle", args=[issue.pk])).status_code
        == 404
    )


def test_an_unknown_move_is_404(issue_world, login):
    issue = _issue(issue_world)
    assert _move(login(issue_world.a.cadre), issue, "teleport").status_code == 404


def test_the_handle_page_shows_contacts_and_the_allowed_moves(issue_world, login):
    issue = _issue(issue_world, contact_phone="13800001111", contact_name="王先生")
    page = login(issue_world.a.property_staff).get(reverse("issues:handle", args=[issue.pk]))
    assert page.status_code == 200
    assert "13800001111" in page.content.decode()
    assert set(page.context["move_forms"]) == {"acknowledge", "reject", "merge", "note"}
    public = login(issue_world.a.neighbour).get(reverse("issues:detail", args=[issue.pk]))
    assert "13800001111" not in public.content.decode()


def test_the_handler_acknowledges_commits_and_resolves(issue_world, login):
    issue = _issue(issue_world)
    client = login(issue_world.a.property_staff)
    assert _move(client, issue, "acknowledge", {"note": "收到"}).status_code == 302
    due = timezone.localdate() + datetime.timedelta(days=3)
    assert _move(client, issue, "commit", {"committed_due": due.isoformat()}).status_code == 302
    issue.refresh_from_db()
    assert (issue.status, issue.committed_due) == (Status.IN_PROGRESS, due)
    public = login(issue_world.a.neighbour).get(reverse("issues:detail", args=[issue.pk]))
    assert due.isoformat() in public.content.decode()
    client = login(issue_world.a.property_staff)
    assert _move(client, issue, "resolve", {"note": "已协调, 晚上不再施工"}).status_code == 302
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED


def test_a_refused_transition_shows_the_services_message(issue_world, login):
    issue = _issue(issue_world)  # submitted: resolving is not allowed yet
    client = login(issue_world.a.property_staff)
    response = _move(client, issue, "resolve", {"note": "我写了很长的说明"})
    assert response.status_code == 400
    form = response.context["move_forms"]["resolve"]
    assert form.non_field_errors()  # the service's "transition" message
    assert form.non_field_errors()[0] in response.content.decode()
    assert form["note"].value() == "我写了很长的说明"
    assert "我写了很长的说明" in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == Status.SUBMITTED


def test_merging_needs_a_target_in_scope(issue_world, login):
    issue = _issue(issue_world)
    foreign = _issue(issue_world, "b")
    client = login(issue_world.a.cadre)
    response = _move(client, issue, "merge", {"into": foreign.pk, "reason": "重复"})
    assert response.status_code == 400
    assert response.context["move_forms"]["merge"].errors["into"]
    target = _issue(issue_world)
    assert _move(client, issue, "merge", {"into": target.pk, "reason": "重复"}).status_code == 302
    issue.refresh_from_db()
    assert (issue.status, issue.merged_into_id) == (Status.MERGED, target.pk)


def test_an_internal_note_stays_with_handlers(issue_world, login):
    issue = _issue(issue_world)
    staff = login(issue_world.a.cadre)
    assert _move(staff, issue, "note", {"text": "内部: 先联系物业经理"}).status_code == 302
    assert IssueEvent.objects.filter(issue=issue, public=False).exists()
    assert "先联系物业经理" in staff.get(reverse("issues:handle", args=[issue.pk])).content.decode()
    public = login(issue_world.a.neighbour).get(reverse("issues:detail", args=[issue.pk]))
    assert "先联系物业经理" not in public.content.decode()


# --- reporting for a caller ------------------------------------------------------------------


def test_staff_report_for_a_caller(issue_world, login):
    client = login(issue_world.a.cadre)
    assert client.get(reverse("issues:staff_create")).status_code == 200
    response = client.post(
        reverse("issues:staff_create"),
        {
            "category": issue_world.passage.pk,
            "description": "电话反映: 消防通道被电瓶车堵住",
            "building": issue_world.a.building.pk,
            "source": Source.HOTLINE,
            "contact_name": "李阿姨",
            "contact_phone": "13900002222",
        },
    )
    assert response.status_code == 302
    issue = Issue.objects.get()
    assert (issue.source, issue.contact_phone, issue.entered_by) == (
        Source.HOTLINE,
        "13900002222",
        issue_world.a.cadre,
    )
    assert issue.reporter is None


def test_staff_report_places_are_limited_to_the_scope(issue_world, login):
    client = login(issue_world.a.cadre)
    response = client.post(
        reverse("issues:staff_create"),
        {
            "category": issue_world.passage.pk,
            "description": "别处的事",
            "building": issue_world.b.building.pk,
            "source": Source.STAFF,
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["building"]
    address_only = client.post(
        reverse("issues:staff_create"),
        {
            "category": issue_world.passage.pk,
            "description": "路口的事",
            "address": "友谊路1号",
            "neighbourhood": issue_world.b.neighbourhood.pk,
            "source": Source.STAFF,
        },
    )
    assert address_only.status_code == 400
    assert not Issue.objects.exists()
