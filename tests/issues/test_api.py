"""The report endpoints (/api/v1/reports/, /api/v1/report-categories/): scoping, API-key
scopes, creation, moves, comments, photos, pages and query counts."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from issues.apps import ISSUES_READ, ISSUES_WRITE
from issues.models import EventKind, Issue, IssueEvent, IssuePhoto, Source, Status
from tests.factories import BuildingFactory, EstateFactory

from .factories import CategoryAttributeFactory, IssueFactory

pytestmark = pytest.mark.django_db

LIST = reverse("report-list")
RW = (ISSUES_READ, ISSUES_WRITE)


def detail(pk):
    return reverse("report-detail", args=[pk])


def move(pk, name):
    return reverse(f"report-{name}", args=[pk])


def jpeg(name="photo.jpg"):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 10)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def reports(issue_world):
    """One report in A and one in B, on each side's building."""
    w = issue_world
    w.a.issue = IssueFactory(
        category=w.noise, building=w.a.building, contact_name="张先生", contact_phone="13900001111"
    )
    w.b.issue = IssueFactory(category=w.noise, building=w.b.building)
    return w


def _ids(response):
    assert response.status_code == 200, response.content[:300]
    return {row["id"] for row in response.json()["results"]}


# --- scoping ---------------------------------------------------------------------------


def test_a_key_of_b_gets_404_on_a_report_and_lists_none_of_a(client, reports, api_key_headers):
    _key, headers = api_key_headers(reports.b.neighbourhood, scopes=RW)
    assert client.get(detail(reports.a.issue.pk), headers=headers).status_code == 404
    assert client.get(detail(reports.b.issue.pk), headers=headers).status_code == 200
    assert _ids(client.get(LIST, headers=headers)) == {reports.b.issue.pk}
    response = client.post(
        move(reports.a.issue.pk, "acknowledge"), {}, "application/json", headers=headers
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_property_staff_see_only_their_estate(client, reports, login):
    other_estate = EstateFactory(neighbourhood=reports.a.neighbourhood, name="别的小区")
    elsewhere = IssueFactory(category=reports.noise, building=BuildingFactory(estate=other_estate))
    staff = login(reports.a.property_staff)
    assert _ids(staff.get(LIST)) == {reports.a.issue.pk}
    assert staff.get(detail(elsewhere.pk)).status_code == 404
    cadre = login(reports.a.cadre)
    assert _ids(cadre.get(LIST)) == {reports.a.issue.pk, elsewhere.pk}


def test_a_resident_without_a_handler_scope_sees_nothing(client, reports, login):
    resident = login(reports.a.resident)
    assert _ids(resident.get(LIST)) == set()
    assert resident.get(detail(reports.a.issue.pk)).status_code == 404


# --- API-key scopes --------------------------------------------------------------------


def test_a_key_without_write_gets_403_on_post(client, reports, api_key_headers):
    _key, headers = api_key_headers(reports.a.neighbourhood, scopes=(ISSUES_READ,))
    body = {"category": "noise", "description": "吵", "building": reports.a.building.pk}
    response = client.post(LIST, body, "application/json", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    response = client.post(
        move(reports.a.issue.pk, "acknowledge"), {}, "application/json", headers=headers
    )
    assert response.status_code == 403


def test_a_key_without_read_gets_403_on_get(client, reports, api_key_headers):
    _key, headers = api_key_headers(reports.a.neighbourhood, scopes=("places:read",))
    assert client.get(LIST, headers=headers).status_code == 403
    assert client.get(detail(reports.a.issue.pk), headers=headers).status_code == 403
    assert client.get(reverse("report-category-list"), headers=headers).status_code == 403


def test_contact_fields_and_internal_steps_need_write(client, reports, api_key_headers):
    IssueEvent.objects.create(issue=reports.a.issue, kind=EventKind.NOTE, public=False, text="内部")
    IssueEvent.objects.create(issue=reports.a.issue, kind=EventKind.COMMENT, text="公开")
    _key, read_only = api_key_headers(reports.a.neighbourhood, scopes=(ISSUES_READ,))
    _key, writer = api_key_headers(reports.a.neighbourhood, scopes=RW)
    data = client.get(detail(reports.a.issue.pk), headers=read_only).json()
    assert data["contact"] is None
    assert [step["text"] for step in data["timeline"]] == ["公开"]
    data = client.get(detail(reports.a.issue.pk), headers=writer).json()
    assert data["contact"] == {"name": "张先生", "phone": "13900001111", "email": ""}
    assert {step["text"] for step in data["timeline"]} == {"公开", "内部"}
    comments = client.get(move(reports.a.issue.pk, "comments"), headers=read_only).json()
    assert [c["text"] for c in comments] == ["公开"]


# --- creating --------------------------------------------------------------------------


def test_a_key_creates_a_report_on_a_building(client, issue_world, api_key_headers):
    key, headers = api_key_headers(issue_world.a.neighbourhood, scopes=RW)
    body = {
        "category": "noise",
        "description": "夜里装修",
        "building": issue_world.a.building.pk,
        "contact_phone": "13900002222",
        "external_id": "hotline-1",
    }
    response = client.post(LIST, body, "application/json", headers=headers)
    assert response.status_code == 201, response.content
    issue = Issue.objects.get(pk=response.json()["id"])
    assert issue.source == Source.API and issue.api_key_id == key.pk
    assert issue.neighbourhood_id == issue_world.a.neighbourhood.pk
    assert issue.estate_id == issue_world.a.estate.pk
    assert response.json()["status"] == Status.SUBMITTED
    assert response.json()["contact"]["phone"] == "13900002222"

    again = client.post(LIST, body, "application/json", headers=headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate"
    assert "hotline-1" in again.json()["error"]["message"]
    assert Issue.objects.filter(external_id="hotline-1").count() == 1


def test_property_staff_create_on_their_estate_only(client, issue_world, login):
    staff = login(issue_world.a.property_staff)
    other = BuildingFactory(estate=EstateFactory(neighbourhood=issue_world.a.neighbourhood))
    body = {"category": "noise", "description": "吵", "building": other.pk}
    assert staff.post(LIST, body, "application/json").status_code == 400
    body["building"] = issue_world.a.building.pk
    response = staff.post(LIST, body, "application/json")
    assert response.status_code == 201, response.content
    issue = Issue.objects.get(pk=response.json()["id"])
    assert issue.entered_by == issue_world.a.property_staff and issue.api_key is None


def test_a_place_outside_the_scope_is_refused(client, issue_world, api_key_headers):
    _key, headers = api_key_headers(issue_world.a.neighbourhood, scopes=RW)
    for field, place in (
        ("building", issue_world.b.building),
        ("estate", issue_world.b.estate),
        ("neighbourhood", issue_world.b.neighbourhood),
    ):
        body = {"category": "noise", "description": "吵", field: place.pk, "address": "某路1号"}
        response = client.post(LIST, body, "application/json", headers=headers)
        assert response.status_code == 400, field
        assert field in response.json()["error"]["fields"]
    assert not Issue.objects.exists()


def test_a_neighbourhood_report_needs_an_address(client, issue_world, api_key_headers):
    _key, headers = api_key_headers(issue_world.a.neighbourhood, scopes=RW)
    body = {
        "category": "noise",
        "description": "吵",
        "neighbourhood": issue_world.a.neighbourhood.pk,
    }
    response = client.post(LIST, body, "application/json", headers=headers)
    assert response.status_code == 400
    assert "address" in response.json()["error"]["fields"]
    body["address"] = "友谊路1号"
    assert client.post(LIST, body, "application/json", headers=headers).status_code == 201


def test_attribute_errors_are_field_messages(client, issue_world, api_key_headers):
    CategoryAttributeFactory(
        category=issue_world.noise, code="floor", datatype="number", required=True
    )
    _key, headers = api_key_headers(issue_world.a.neighbourhood, scopes=RW)
    body = {"category": "noise", "description": "吵", "building": issue_world.a.building.pk}
    response = client.post(LIST, body, "application/json", headers=headers)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["attributes.floor"] and all(
        isinstance(m, str) for m in fields["attributes.floor"]
    )
    body["attributes"] = {"floor": "高"}
    assert (
        "attributes.floor"
        in client.post(LIST, body, "application/json", headers=headers).json()["error"]["fields"]
    )
    body["attributes"] = {"floor": 3}
    assert client.post(LIST, body, "application/json", headers=headers).status_code == 201


# --- moves -----------------------------------------------------------------------------


def test_moves_allowed_and_refused(client, reports, login):
    staff = login(reports.a.property_staff)
    pk = reports.a.issue.pk
    refused = staff.post(move(pk, "resolve"), {"note": "好了"}, "application/json")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "transition" and error["message"]
    assert (
        staff.post(move(pk, "acknowledge"), {}, "application/json").json()["status"]
        == "acknowledged"
    )
    due = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    response = staff.post(move(pk, "commit"), {"committed_due": due}, "application/json")
    assert response.status_code == 200 and response.json()["committed_due"] == due
    assert (
        staff.post(move(pk, "progress"), {"text": "已联系施工方"}, "application/json").status_code
        == 200
    )
    response = staff.post(move(pk, "resolve"), {"note": "已停工"}, "application/json")
    assert response.json()["status"] == "resolved"
    assert staff.post(move(pk, "reject"), {"reason": "重复"}, "application/json").status_code == 409
    missing = staff.post(move(pk, "progress"), {}, "application/json")
    assert missing.status_code == 400 and "text" in missing.json()["error"]["fields"]


def test_a_key_with_write_moves_a_report(client, reports, api_key_headers):
    _key, headers = api_key_headers(reports.a.neighbourhood, scopes=RW)
    response = client.post(
        move(reports.a.issue.pk, "acknowledge"), {}, "application/json", headers=headers
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "acknowledged"
    step = IssueEvent.objects.get(issue=reports.a.issue, kind=EventKind.ACKNOWLEDGED)
    assert step.actor is None and step.actor_label == "test system"


def test_merge_into_a_report_in_scope_only(client, reports, login):
    cadre = login(reports.a.cadre)
    pk = reports.a.issue.pk
    outside = cadre.post(
        move(pk, "merge"), {"into": reports.b.issue.pk, "reason": "重复"}, "application/json"
    )
    assert outside.status_code == 400 and "into" in outside.json()["error"]["fields"]
    target = IssueFactory(category=reports.noise, building=reports.a.building)
    response = cadre.post(
        move(pk, "merge"), {"into": target.pk, "reason": "重复"}, "application/json"
    )
    assert response.status_code == 200 and response.json()["status"] == "merged"


def test_the_reporter_confirms_others_get_404(client, reports, login):
    issue = reports.a.issue
    Issue.objects.filter(pk=issue.pk).update(reporter=reports.a.resident, status=Status.RESOLVED)
    neighbour = login(reports.a.neighbour)
    assert (
        neighbour.post(move(issue.pk, "confirm"), {"rating": 5}, "application/json").status_code
        == 404
    )
    reporter = login(reports.a.resident)
    response = reporter.post(move(issue.pk, "confirm"), {"rating": 4}, "application/json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed" and response.json()["rating"] == 4
    assert response.json()["contact"] is None


# --- comments and photos ---------------------------------------------------------------


def test_comments_public_and_internal(client, reports, login):
    cadre = login(reports.a.cadre)
    url = move(reports.a.issue.pk, "comments")
    assert cadre.post(url, {"text": "已转物业"}, "application/json").status_code == 201
    response = cadre.post(url, {"text": "内部备注", "internal": True}, "application/json")
    assert response.status_code == 201 and response.json()["internal"] is True
    assert [c["text"] for c in cadre.get(url).json()] == ["已转物业", "内部备注"]


def test_a_jpeg_is_accepted_and_a_renamed_text_file_refused(client, reports, login):
    staff = login(reports.a.property_staff)
    url = move(reports.a.issue.pk, "photos")
    response = staff.post(url, {"image": jpeg()})
    assert response.status_code == 201, response.content
    assert response.json()["image"].startswith("http") and response.json()["thumbnail"]
    fake = SimpleUploadedFile("photo.jpg", b"just some text", content_type="image/jpeg")
    refused = staff.post(url, {"image": fake})
    assert refused.status_code == 400
    [message] = refused.json()["error"]["fields"]["image"]
    assert "JPEG" in message
    assert IssuePhoto.objects.filter(issue=reports.a.issue).count() == 1
    photos = staff.get(detail(reports.a.issue.pk)).json()["photos"]
    assert len(photos) == 1
    assert staff.post(move(reports.b.issue.pk, "photos"), {"image": jpeg()}).status_code == 404


def test_the_photo_limit(client, reports, login, settings):
    settings.LINLI_ISSUE_MAX_PHOTOS = 2
    staff = login(reports.a.property_staff)
    url = move(reports.a.issue.pk, "photos")
    assert [staff.post(url, {"image": jpeg()}).status_code for _ in range(2)] == [201, 201]
    refused = staff.post(url, {"image": jpeg()})
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["image"]
    assert IssuePhoto.objects.filter(issue=reports.a.issue).count() == 2


def test_a_key_with_write_adds_a_photo(client, reports, api_key_headers):
    _key, headers = api_key_headers(reports.a.neighbourhood, scopes=RW)
    response = client.post(move(reports.a.issue.pk, "photos"), {"image": jpeg()}, headers=headers)
    assert response.status_code == 201, response.content


# --- lists -----------------------------------------------------------------------------


def test_filters(client, reports, api_key_headers):
    _key, headers = api_key_headers(reports.subdistrict, scopes=RW)
    Issue.objects.filter(pk=reports.b.issue.pk).update(status=Status.IN_PROGRESS)
    assert _ids(client.get(LIST, {"status": "submitted,in_progress"}, headers=headers)) == {
        reports.a.issue.pk,
        reports.b.issue.pk,
    }
    assert _ids(client.get(LIST, {"status": "in_progress"}, headers=headers)) == {
        reports.b.issue.pk
    }
    bad = client.get(LIST, {"status": "open,nonsense"}, headers=headers)
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    assert _ids(
        client.get(LIST, {"neighbourhood": reports.a.neighbourhood.pk}, headers=headers)
    ) == {reports.a.issue.pk}
    past = "2000-01-01T00:00:00Z"
    Issue.objects.filter(pk=reports.a.issue.pk).update(
        due_at=datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)
    )
    assert _ids(client.get(LIST, {"overdue": "true"}, headers=headers)) == {reports.a.issue.pk}
    assert _ids(
        client.get(LIST, {"created_after": past, "category": "noise"}, headers=headers)
    ) == {
        reports.a.issue.pk,
        reports.b.issue.pk,
    }
    assert _ids(client.get(LIST, {"category": "fire-passage"}, headers=headers)) == set()


def test_list_rows_carry_names(client, reports, login):
    company = IssueFactory(
        category=reports.noise, building=reports.a.building, property_company=reports.a.company
    )
    rows = login(reports.a.cadre).get(LIST).json()["results"]
    assert [row["id"] for row in rows] == [company.pk, reports.a.issue.pk]
    for row in rows:
        issue = Issue.objects.select_related("neighbourhood", "property_company").get(pk=row["id"])
        assert row["category"] == "noise" and row["category_name"] == "噪音扰民"
        assert row["handler_name"] == issue.handler_label
        assert "contact_phone" not in row and "contact" not in row
    assert rows[0]["handler_name"] == "甲物业有限公司"
    english = login(reports.a.cadre).get(LIST, headers={"Accept-Language": "en"}).json()
    assert english["results"][0]["category_name"] == "Noise"


def test_the_fast_list_answers_what_the_serializer_answers(reports, login, monkeypatch):
    from core.api import lists

    IssueFactory(
        category=reports.passage, building=reports.a.building, latitude="31.2", due_at=None
    )
    client = login(reports.a.cadre)
    fast = client.get(LIST).json()
    monkeypatch.setattr(lists, "values_shape", lambda _cls: lists.NoShape("the ordinary path"))
    assert client.get(LIST).json() == fast
    assert len(fast["results"]) == 2


def test_cursor_pages_are_stable_newest_first(client, issue_world, api_key_headers):
    _key, headers = api_key_headers(issue_world.a.neighbourhood, scopes=RW)
    made = [
        IssueFactory(category=issue_world.noise, building=issue_world.a.building).pk
        for _ in range(5)
    ]
    seen, url, params = [], LIST, {"page_size": 2}
    while url:
        page = client.get(url, params, headers=headers).json()
        seen += [row["id"] for row in page["results"]]
        if len(seen) == 2:  # a report arriving mid-walk moves nothing
            IssueFactory(category=issue_world.noise, building=issue_world.a.building)
        url, params = page["next"], None
    assert seen == sorted(made, reverse=True)
    oldest = client.get(LIST, {"ordering": "id", "page_size": 2}, headers=headers).json()
    assert [row["id"] for row in oldest["results"]] == made[:2]
    second = client.get(oldest["next"], headers=headers).json()
    assert [row["id"] for row in second["results"]] == made[2:4]


def _grow(world, n):
    for _ in range(n):
        IssueFactory(category=world.noise, building=world.a.building)


def test_list_queries_do_not_grow(
    client, issue_world, login, api_key_headers, django_assert_max_num_queries
):
    _key, headers = api_key_headers(issue_world.a.neighbourhood, scopes=RW)
    for kwargs, principal in (({"headers": headers}, client), ({}, login(issue_world.a.cadre))):
        Issue.objects.all().delete()
        _grow(issue_world, 1)
        principal.get(LIST, **kwargs)  # warm caches
        with CaptureQueriesContext(connection) as small:
            assert len(principal.get(LIST, **kwargs).json()["results"]) == 1
        _grow(issue_world, 29)
        with django_assert_max_num_queries(len(small.captured_queries)):
            assert len(principal.get(LIST, **kwargs).json()["results"]) == 30


def test_detail_queries_are_bounded(
    client, reports, api_key_headers, django_assert_max_num_queries
):
    _key, headers = api_key_headers(reports.a.neighbourhood, scopes=RW)
    issue = reports.a.issue
    client.get(detail(issue.pk), headers=headers)
    for i in range(10):
        event = IssueEvent.objects.create(issue=issue, kind=EventKind.COMMENT, text=f"第{i}条")
        IssuePhoto.objects.create(
            issue=issue, event=event, image=f"p{i}.jpg", thumbnail=f"t{i}.jpg"
        )
        IssuePhoto.objects.create(issue=issue, image=f"q{i}.jpg", thumbnail=f"u{i}.jpg")
    with django_assert_max_num_queries(8):
        data = client.get(detail(issue.pk), headers=headers).json()
    assert len(data["timeline"]) == 10 and len(data["photos"]) == 10
    assert all(len(step["photos"]) == 1 for step in data["timeline"])


# --- categories ------------------------------------------------------------------------


def test_categories_with_their_attributes(client, issue_world, api_key_headers):
    _key, headers = api_key_headers(issue_world.b.neighbourhood, scopes=(ISSUES_READ,))
    response = client.get(reverse("report-category-list"), {"page_size": 200}, headers=headers)
    codes = {row["code"] for row in response.json()["results"]}
    assert {"noise", "fire-passage", "illegal-building"} <= codes
    data = client.get(reverse("report-category-detail", args=["noise"]), headers=headers).json()
    assert data["name"] == "噪音扰民"
    [when] = [a for a in data["attributes"] if a["code"] == "when"]
    assert when["datatype"] == "singlevaluelist"
    assert {"key": "day", "name": "白天"} in when["values"]
    missing = client.get(reverse("report-category-detail", args=["no-such"]), headers=headers)
    assert missing.status_code == 404
