"""报事 in the back office: scoped like every place-bound admin, read-only rows, the moves
through the services (issues/admin/).

Cadre B gets a 404 on A's report; property staff of A's estate see A's estate's reports
only; department staff see their subdistrict's. Categories and departments are the
superuser's.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from issues.models import EventKind, Issue, IssueEvent, Status
from tests.factories import UserFactory

from .factories import IssueFactory

pytestmark = pytest.mark.django_db


def url(view, *args, model="issue"):
    return reverse(f"admin:issues_{model}_{view}", args=args)


def shown(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def reports(issue_world):
    w = issue_world
    a_noise = IssueFactory(
        category=w.noise,
        building=w.a.building,
        property_company=w.a.company,
        contact_phone="13800001111",
        contact_name="王先生",
    )
    a_street = IssueFactory(
        category=w.passage, building=None, neighbourhood=w.a.neighbourhood, address="友谊路1号"
    )
    a_department = IssueFactory(
        category=w.building_work, building=w.a.building, department=w.department
    )
    b_noise = IssueFactory(category=w.noise, building=w.b.building, property_company=w.b.company)
    IssueEvent.objects.create(issue=a_noise, kind=EventKind.SUBMITTED, actor_label="居民")
    IssueEvent.objects.create(
        issue=a_noise, kind=EventKind.NOTE, public=False, text="内部备注：已联系物业"
    )
    return w, a_noise, a_street, a_department, b_noise


def test_cadre_b_gets_a_404_on_a_report_of_a(reports, login):
    w, a_noise, *_rest = reports
    client = login(w.b.cadre)
    for view in ("change", "history"):
        assert client.get(url(view, a_noise.pk)).status_code == 404
    assert client.get(url("change", 999_999)).status_code == 404
    assert a_noise.pk not in shown(client.get(url("changelist")))


def test_the_report_page_shows_contact_and_the_whole_timeline_read_only(reports, login):
    w, a_noise, *_rest = reports
    response = login(w.a.cadre).get(url("change", a_noise.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert "13800001111" in page and "王先生" in page
    assert "内部备注：已联系物业" in page  # handlers see internal notes
    assert 'name="_save"' not in page  # nothing is saved through the form
    assert 'name="events-0-text"' not in page


def test_a_post_to_the_report_page_changes_nothing(reports, login):
    w, a_noise, *_rest = reports
    response = login(w.a.cadre).post(url("change", a_noise.pk), {"status": Status.CLOSED})
    assert response.status_code == 403
    a_noise.refresh_from_db()
    assert a_noise.status == Status.SUBMITTED
    assert login(w.a.cadre).get(url("add")).status_code == 403
    assert login(w.a.cadre).get(url("delete", a_noise.pk)).status_code == 403


def test_each_handler_lists_the_reports_of_their_places(reports, login):
    w, a_noise, a_street, a_department, b_noise = reports
    assert shown(login(w.a.cadre).get(url("changelist"))) == {
        a_noise.pk,
        a_street.pk,
        a_department.pk,
    }
    assert shown(login(w.a.property_staff).get(url("changelist"))) == {
        a_noise.pk,
        a_department.pk,
    }
    assert shown(login(w.department_staff).get(url("changelist"))) == {
        a_noise.pk,
        a_street.pk,
        a_department.pk,
        b_noise.pk,
    }
    assert login(w.a.property_staff).get(url("change", a_street.pk)).status_code == 404
    assert login(w.a.property_staff).get(url("change", b_noise.pk)).status_code == 404


def test_the_list_filters_and_search(reports, login):
    w, a_noise, a_street, a_department, _b = reports
    Issue.objects.filter(pk=a_street.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    client = login(w.a.cadre)
    assert shown(client.get(url("changelist"), {"overdue": "yes"})) == {a_street.pk}
    assert a_street.pk not in shown(client.get(url("changelist"), {"overdue": "no"}))
    by_category = client.get(url("changelist"), {"category__id__exact": w.building_work.pk})
    assert shown(by_category) == {a_department.pk}
    assert shown(client.get(url("changelist"), {"handler_level__exact": "property"})) == {
        a_noise.pk
    }
    assert shown(client.get(url("changelist"), {"q": f"#{a_noise.pk}"})) == {a_noise.pk}


@pytest.mark.parametrize("count", [1, 20])
def test_the_changelist_is_a_fixed_number_of_queries(
    issue_world, login, count, django_assert_max_num_queries
):
    w = issue_world
    for _n in range(count):
        IssueFactory(category=w.noise, building=w.a.building, property_company=w.a.company)
        IssueFactory(category=w.building_work, building=w.a.building, department=w.department)
    IssueFactory(category=w.passage, building=None, neighbourhood=w.a.neighbourhood)
    client = login(w.a.cadre)
    client.get(url("changelist"))  # warm the scope and session
    with django_assert_max_num_queries(12):
        response = client.get(url("changelist"))
    assert response.status_code == 200
    assert len(shown(response)) == 2 * count + 1


@pytest.mark.parametrize("count", [1, 20])
def test_the_report_page_is_a_fixed_number_of_queries(
    issue_world, login, count, django_assert_max_num_queries
):
    w = issue_world
    issue = IssueFactory(category=w.noise, building=w.a.building, attributes={"when": "night"})
    for n in range(count):
        IssueEvent.objects.create(
            issue=issue, kind=EventKind.PROGRESS, actor=w.a.property_staff, text=f"进展{n}"
        )
    client = login(w.a.cadre)
    client.get(url("change", issue.pk))
    with django_assert_max_num_queries(10):
        response = client.get(url("change", issue.pk))
    page = response.content.decode()
    assert "进展0" in page and "夜间" in page  # the attribute's value by its name


# --- the moves -----------------------------------------------------------------------------


def test_acknowledge_action_moves_the_selected_reports_in_scope(reports, login):
    w, a_noise, a_street, _a_department, b_noise = reports
    response = login(w.a.cadre).post(
        url("changelist"),
        {
            "action": "acknowledge_selected",
            "_selected_action": [a_noise.pk, a_street.pk, b_noise.pk],  # B's one is forged
        },
    )
    assert response.status_code == 302
    statuses = dict(Issue.objects.values_list("pk", "status"))
    assert statuses[a_noise.pk] == statuses[a_street.pk] == Status.ACKNOWLEDGED
    assert statuses[b_noise.pk] == Status.SUBMITTED
    assert IssueEvent.objects.filter(issue=a_noise, kind=EventKind.ACKNOWLEDGED).exists()


def test_acknowledging_a_report_not_newly_submitted_is_a_warning(reports, login):
    w, a_noise, a_street, *_rest = reports
    Issue.objects.filter(pk=a_street.pk).update(status=Status.RESOLVED)
    response = login(w.a.cadre).post(
        url("changelist"),
        {"action": "acknowledge_selected", "_selected_action": [a_noise.pk, a_street.pk]},
    )
    messages = texts(response)
    assert len(messages) == 2, messages
    assert Issue.objects.get(pk=a_street.pk).status == Status.RESOLVED


def test_reject_action_asks_for_a_reason_then_rejects(reports, login):
    w, a_noise, a_street, *_rest = reports
    client = login(w.a.cadre)
    data = {"action": "reject_selected", "_selected_action": [a_noise.pk]}
    asked = client.post(url("changelist"), data)
    assert asked.status_code == 200
    assert 'name="reason"' in asked.content.decode()
    blank = client.post(url("changelist"), {**data, "apply": "1", "reason": ""})
    assert blank.status_code == 200  # asked again
    assert Issue.objects.get(pk=a_noise.pk).status == Status.SUBMITTED
    done = client.post(url("changelist"), {**data, "apply": "1", "reason": "重复报事"})
    assert done.status_code == 302
    a_noise.refresh_from_db()
    assert (a_noise.status, a_noise.reason) == (Status.REJECTED, "重复报事")


def test_a_refused_reject_is_a_message_and_saves_nothing(reports, login):
    w, a_noise, a_street, *_rest = reports
    Issue.objects.filter(pk=a_street.pk).update(status=Status.CLOSED)
    response = login(w.a.cadre).post(
        url("changelist"),
        {
            "action": "reject_selected",
            "_selected_action": [a_noise.pk, a_street.pk],
            "apply": "1",
            "reason": "不属于本社区",
        },
    )
    assert response.status_code == 302
    messages = texts(response)
    assert any(f"#{a_street.pk}" in m for m in messages), messages
    a_street.refresh_from_db()
    assert (a_street.status, a_street.reason) == (Status.CLOSED, "")
    assert Issue.objects.get(pk=a_noise.pk).status == Status.REJECTED


# --- reference data ---------------------------------------------------------------------------


def test_categories_and_departments_are_the_superusers(issue_world, login):
    w = issue_world
    for model in ("category", "department"):
        assert login(w.a.cadre).get(url("changelist", model=model)).status_code == 403
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client = login(superuser)
    elevator = w.noise.__class__.objects.get(code="elevator-fault")
    page = client.get(url("change", elevator.pk, model="category"))
    assert page.status_code == 200 and "trapped" in page.content.decode()
    departments = client.get(url("changelist", model="department"))
    assert departments.status_code == 200
    assert w.department in departments.context["cl"].result_list
