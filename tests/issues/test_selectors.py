"""The reads of issue reporting: scoped, joined, a fixed number of queries per list.

World A and B share a subdistrict: the cadre of B, the property staff of B's estate and
A's residents never see the other side's reports; the department staff of the
subdistrict see both sides' department-level reports.
"""

from __future__ import annotations

import datetime

import pytest
from django.http import Http404
from django.utils import timezone

from issues.models import EventKind, HandlerLevel, Issue, IssueEvent, IssuePhoto, Status
from issues.selectors import (
    access_issue,
    access_public_issue,
    categories_active,
    inbox_for,
    issue_filters,
    issue_order,
    issues_reported_by,
    issues_visible_to,
    public_issues_for,
    resident_neighbourhood_id,
    similar_open_issues,
    timeline_for,
)
from tests.factories import BuildingFactory, UserFactory

from .factories import CategoryAttributeFactory, CategoryFactory, DepartmentFactory, IssueFactory

pytestmark = pytest.mark.django_db


def ids(rows) -> set[int]:
    return {row.pk for row in rows}


def touch(rows) -> list[str]:
    """Read what a list row shows (fails as N+1 if a relation is not joined)."""
    return [
        f"{i.category.name} {i.handler_label} {i.neighbourhood.name} "
        f"{i.estate.name if i.estate_id else ''} {i.building.number if i.building_id else ''} "
        f"{i.property_company.name if i.property_company_id else ''}"
        f"{i.department.name if i.department_id else ''}"
        for i in rows
    ]


@pytest.fixture
def reports(issue_world):
    w = issue_world
    a_noise = IssueFactory(category=w.noise, building=w.a.building, property_company=w.a.company)
    a_passage = IssueFactory(category=w.passage, building=w.a.building)
    a_street = IssueFactory(
        category=w.passage, building=None, neighbourhood=w.a.neighbourhood, address="友谊路1号"
    )
    a_department = IssueFactory(
        category=w.building_work, building=w.a.building, department=w.department
    )
    b_noise = IssueFactory(category=w.noise, building=w.b.building, property_company=w.b.company)
    b_department = IssueFactory(category=w.building_work, building=w.b.building)
    return w, {
        "a_noise": a_noise,
        "a_passage": a_passage,
        "a_street": a_street,
        "a_department": a_department,
        "b_noise": b_noise,
        "b_department": b_department,
    }


# --- issues_visible_to / access_issue -------------------------------------------------------


def test_each_handler_sees_only_the_reports_of_their_places(reports):
    w, r = reports
    a_all = {r[k].pk for k in ("a_noise", "a_passage", "a_street", "a_department")}
    assert ids(issues_visible_to(user=w.a.cadre)) == a_all
    assert ids(issues_visible_to(user=w.b.cadre)) == {r["b_noise"].pk, r["b_department"].pk}
    # the estate's staff: its reports, not the street-address report of its neighbourhood
    assert ids(issues_visible_to(user=w.a.property_staff)) == a_all - {r["a_street"].pk}
    assert ids(issues_visible_to(user=w.department_staff)) == ids(Issue.objects.all())
    assert not issues_visible_to(user=w.a.resident).exists()
    superuser = UserFactory(is_superuser=True, is_staff=True)
    assert issues_visible_to(user=superuser).count() == 6


def test_access_issue_is_a_404_outside_the_scope_and_for_a_missing_report(reports):
    w, r = reports
    assert access_issue(user=w.a.cadre, pk=r["a_noise"].pk) == r["a_noise"]
    for user, pk in (
        (w.b.cadre, r["a_noise"].pk),
        (w.b.property_staff, r["a_noise"].pk),
        (w.a.property_staff, r["a_street"].pk),
        (w.a.resident, r["a_noise"].pk),
        (w.a.cadre, 999_999),
        (w.a.cadre, "x"),
    ):
        with pytest.raises(Http404):
            access_issue(user=user, pk=pk)


@pytest.mark.parametrize("count", [1, 20])
def test_the_staff_list_is_a_fixed_number_of_queries(
    issue_world, count, django_assert_max_num_queries
):
    w = issue_world
    for _n in range(count):
        IssueFactory(category=w.noise, building=w.a.building, property_company=w.a.company)
    IssueFactory(category=w.building_work, building=w.a.building, department=w.department)
    for user in (w.a.cadre, w.a.property_staff, w.department_staff):
        user = type(user).objects.get(pk=user.pk)  # no scope cached on the object
        with django_assert_max_num_queries(4):
            shown = touch(issues_visible_to(user=user))
        assert len(shown) >= count


# --- the public side --------------------------------------------------------------------------


def test_the_public_list_keeps_rejected_reports_and_leaves_out_merged_ones(reports):
    w, r = reports
    rejected = IssueFactory(
        category=w.noise, building=w.a.building, status=Status.REJECTED, reason="不属实"
    )
    merged = IssueFactory(
        category=w.noise, building=w.a.building, status=Status.MERGED, merged_into=r["a_noise"]
    )
    shown = ids(public_issues_for(neighbourhood_id=w.a.neighbourhood.pk))
    assert rejected.pk in shown and merged.pk not in shown
    assert r["a_street"].pk in shown and r["b_noise"].pk not in shown


@pytest.mark.parametrize("count", [1, 20])
def test_the_public_list_is_a_fixed_number_of_queries(
    issue_world, count, django_assert_max_num_queries
):
    w = issue_world
    for _n in range(count):
        IssueFactory(category=w.noise, building=w.a.building, property_company=w.a.company)
    with django_assert_max_num_queries(1):
        shown = touch(public_issues_for(neighbourhood_id=w.a.neighbourhood.pk))
    assert len(shown) == count


def test_access_public_issue_lets_in_neighbours_the_reporter_and_staff_only(reports):
    w, r = reports
    a_noise = r["a_noise"]
    assert resident_neighbourhood_id(w.a.resident) == w.a.neighbourhood.pk
    assert resident_neighbourhood_id(w.b.resident) == w.b.neighbourhood.pk
    for user in (w.a.resident, w.a.neighbour, w.a.cadre, w.a.property_staff, w.department_staff):
        assert access_public_issue(user=user, pk=a_noise.pk) == a_noise
    outsider = UserFactory(verified=True)  # verified, but no registry record
    for user in (w.b.resident, w.b.cadre, w.b.property_staff, outsider, None):
        with pytest.raises(Http404):
            access_public_issue(user=user, pk=a_noise.pk)
    # a report made by B's resident about A (moved since) stays theirs to see
    theirs = IssueFactory(category=w.noise, building=w.a.building, reporter=w.b.resident)
    assert access_public_issue(user=w.b.resident, pk=theirs.pk) == theirs
    with pytest.raises(Http404):
        access_public_issue(user=w.a.resident, pk=999_999)


def test_issues_reported_by_lists_the_users_own_reports_newest_first(
    reports, django_assert_max_num_queries
):
    w, _r = reports
    first = IssueFactory(category=w.noise, building=w.a.building, reporter=w.a.resident)
    second = IssueFactory(category=w.passage, building=w.a.building, reporter=w.a.resident)
    IssueFactory(category=w.noise, building=w.a.building, reporter=w.a.neighbour)
    with django_assert_max_num_queries(1):
        mine = list(issues_reported_by(user=w.a.resident))
        touch(mine)
    assert mine == [second, first]
    assert list(issues_reported_by(user=None)) == []


# --- filters and order ---------------------------------------------------------------------------


def test_filters_ignore_unknown_values_and_find_a_report_by_number(reports):
    w, r = reports
    everything = Issue.objects.all()
    r["a_noise"].status = Status.RESOLVED
    r["a_noise"].save(update_fields=["status"])
    assert issue_filters(everything, status="nonsense").count() == 6
    assert issue_filters(everything, category="abc", estate="x").count() == 6
    assert r["a_noise"] not in issue_filters(everything, status="open")
    assert list(issue_filters(everything, status="resolved")) == [r["a_noise"]]
    assert ids(issue_filters(everything, category=w.noise.pk)) == {
        r["a_noise"].pk,
        r["b_noise"].pk,
    }
    assert ids(issue_filters(everything, estate=w.b.estate.pk)) == {
        r["b_noise"].pk,
        r["b_department"].pk,
    }
    assert list(issue_filters(everything, q=f"#{r['b_noise'].pk}")) == [r["b_noise"]]
    marked = IssueFactory(category=w.noise, building=w.a.building, description="电梯异响很吓人")
    assert list(issue_filters(everything, q="异响")) == [marked]


def test_order_sorts_by_the_named_key_and_falls_back_to_newest(reports):
    _w, r = reports
    Issue.objects.filter(pk=r["a_noise"].pk).update(upvote_count=5)
    everything = Issue.objects.all()
    newest = list(everything.order_by("-id"))
    assert list(issue_order(everything, "bogus")) == newest
    assert list(issue_order(everything, None)) == newest
    assert list(issue_order(everything, "upvotes"))[0] == r["a_noise"]
    Issue.objects.filter(pk=r["a_passage"].pk).update(due_at=timezone.now())
    assert list(issue_order(everything, "due"))[0] == r["a_passage"]
    later = timezone.now() + datetime.timedelta(days=1)
    Issue.objects.filter(pk=r["a_street"].pk).update(activity_at=later)
    assert list(issue_order(everything, "updated"))[0] == r["a_street"]


# --- the inbox ---------------------------------------------------------------------------------


def test_the_inbox_holds_what_each_handler_handles(reports):
    w, r = reports
    other_department = DepartmentFactory(subdistrict=w.subdistrict, code="fangguan", name="房管")
    theirs = IssueFactory(
        category=w.building_work, building=w.b.building, department=other_department
    )
    # property staff: property-level reports of their estate only
    assert ids(inbox_for(user=w.a.property_staff)) == {r["a_noise"].pk}
    # the cadre oversees every level in the neighbourhood
    assert ids(inbox_for(user=w.a.cadre)) == {
        r[k].pk for k in ("a_noise", "a_passage", "a_street", "a_department")
    }
    # department staff: department-level reports of their department (or of none yet)
    assert ids(inbox_for(user=w.department_staff)) == {
        r["a_department"].pk,
        r["b_department"].pk,
    }
    assert theirs.pk not in ids(inbox_for(user=w.department_staff))
    assert not inbox_for(user=w.a.resident).exists()


def test_the_inbox_puts_overdue_first_and_filters(reports):
    w, r = reports
    now = timezone.now()
    Issue.objects.filter(pk=r["a_street"].pk).update(due_at=now - datetime.timedelta(hours=3))
    Issue.objects.filter(pk=r["a_passage"].pk).update(due_at=now - datetime.timedelta(hours=1))
    Issue.objects.filter(pk=r["a_department"].pk).update(status=Status.RESOLVED)
    inbox = list(inbox_for(user=w.a.cadre))
    assert inbox[:2] == [r["a_street"], r["a_passage"]]
    assert r["a_department"] not in inbox  # open reports by default
    assert list(inbox_for(user=w.a.cadre, status="resolved")) == [r["a_department"]]
    assert ids(inbox_for(user=w.a.cadre, overdue=True)) == {r["a_street"].pk, r["a_passage"].pk}
    assert ids(inbox_for(user=w.a.cadre, overdue=False)) == {r["a_noise"].pk}
    assert ids(inbox_for(user=w.a.cadre, overdue="yes")) == {r["a_street"].pk, r["a_passage"].pk}
    assert ids(inbox_for(user=w.a.cadre, overdue="0")) == {r["a_noise"].pk}
    assert ids(inbox_for(user=w.a.cadre, level_filter=HandlerLevel.PROPERTY)) == {r["a_noise"].pk}
    assert ids(inbox_for(user=w.a.cadre, category=w.passage)) == {
        r["a_street"].pk,
        r["a_passage"].pk,
    }
    # unknown values are ignored
    unknown = inbox_for(user=w.a.cadre, level_filter="x", status="y", category="z", overdue="?")
    assert len(unknown) == 3


@pytest.mark.parametrize("count", [1, 20])
def test_the_inbox_is_a_fixed_number_of_queries(issue_world, count, django_assert_max_num_queries):
    w = issue_world
    for _n in range(count):
        IssueFactory(category=w.building_work, building=w.a.building, department=w.department)
        IssueFactory(category=w.noise, building=w.a.building, property_company=w.a.company)
    for user in (w.a.cadre, w.a.property_staff, w.department_staff):
        user = type(user).objects.get(pk=user.pk)
        with django_assert_max_num_queries(5):
            shown = touch(inbox_for(user=user))
        assert len(shown) >= count


# --- similar reports ------------------------------------------------------------------------------


def test_similar_open_issues_puts_the_same_building_first(
    issue_world, django_assert_max_num_queries
):
    w = issue_world
    next_door = BuildingFactory(estate=w.a.estate, number="2号楼")
    elsewhere = IssueFactory(category=w.noise, building=next_door)
    here_old = IssueFactory(category=w.noise, building=w.a.building)
    here_new = IssueFactory(category=w.noise, building=w.a.building)
    IssueFactory(category=w.noise, building=w.a.building, status=Status.CLOSED)
    IssueFactory(category=w.passage, building=w.a.building)
    IssueFactory(category=w.noise, building=w.b.building)
    with django_assert_max_num_queries(2):
        found = similar_open_issues(
            category_id=w.noise.pk,
            neighbourhood_id=w.a.neighbourhood.pk,
            estate_id=w.a.estate.pk,
            building_id=w.a.building.pk,
        )
        touch(found)
    assert found == [here_new, here_old, elsewhere]
    assert similar_open_issues(
        category_id=w.noise.pk,
        neighbourhood_id=w.a.neighbourhood.pk,
        estate_id=w.a.estate.pk,
        building_id=w.a.building.pk,
        limit=2,
    ) == [here_new, here_old]
    street = IssueFactory(category=w.noise, building=None, neighbourhood=w.a.neighbourhood)
    in_neighbourhood = similar_open_issues(
        category_id=w.noise.pk, neighbourhood_id=w.a.neighbourhood.pk
    )
    assert in_neighbourhood[0] == street and len(in_neighbourhood) == 4


# --- timeline and categories ------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 20])
def test_the_timeline_hides_internal_notes_and_is_two_queries(
    issue_world, count, django_assert_max_num_queries
):
    w = issue_world
    issue = IssueFactory(category=w.noise, building=w.a.building)
    for n in range(count):
        step = IssueEvent.objects.create(
            issue=issue, kind=EventKind.PROGRESS, actor=w.a.property_staff, text=f"进展{n}"
        )
        IssuePhoto.objects.create(issue=issue, event=step, image=f"p{n}.jpg", thumbnail="t.jpg")
    note = IssueEvent.objects.create(
        issue=issue, kind=EventKind.NOTE, public=False, actor=w.a.cadre, text="内部"
    )
    with django_assert_max_num_queries(2):
        steps = timeline_for(issue=issue, staff=True)
        shown = [(s.actor.name, [p.image.name for p in s.photos.all()]) for s in steps]
    assert len(shown) == count + 1 and steps[-1] == note
    public = timeline_for(issue=issue, staff=False)
    assert note not in public and len(public) == count


def test_categories_active_leaves_out_inactive_ones_and_prefetches_attributes(
    issue_world, django_assert_max_num_queries
):
    hidden = CategoryFactory(code="retired", active=False)
    CategoryAttributeFactory(category=issue_world.noise, code="zz-extra")
    with django_assert_max_num_queries(2):
        categories = list(categories_active())
        attributes = {c.code: [a.code for a in c.attributes.all()] for c in categories}
    assert hidden not in categories
    assert "zz-extra" in attributes["noise"]
    assert attributes["elevator-fault"][0] == "trapped"  # the seeded question
