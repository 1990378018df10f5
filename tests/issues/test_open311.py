"""Open311 GeoReport v2: each endpoint in JSON and XML against the shapes of the
specification's examples, POST's errors, the jurisdiction of a key, and what is never shown."""

import datetime
import json
import xml.etree.ElementTree as ET

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from core.services import api_key_create, api_key_revoke
from issues.models import CategoryAttribute, IssuePhoto, Source, Status
from issues.open311.renderers import to_xml
from tests.issues.factories import IssueFactory

BASE = "/open311/v2"
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


@pytest.fixture
def key_for(db):
    def _make(place, scopes=("issues:read", "issues:write")):
        api_key, full = api_key_create(name="12345 hotline", scopes=list(scopes), place=place)
        return api_key, full

    return _make


@pytest.fixture
def survey(issue_world):
    """noise gets two questions: a required floor and a list of times."""
    issue_world.noise.attributes.all().delete()
    CategoryAttribute.objects.create(
        category=issue_world.noise,
        code="floor",
        datatype="number",
        required=True,
        description_zh="几楼",
        description_en="Which floor",
        position=1,
    )
    CategoryAttribute.objects.create(
        category=issue_world.noise,
        code="when",
        datatype="singlevaluelist",
        description_zh="什么时候",
        description_en="When",
        values=[
            {"key": "night", "name_zh": "夜间", "name_en": "At night"},
            {"key": "day", "name_zh": "白天", "name_en": "By day"},
        ],
        position=2,
    )
    return issue_world


def _json(response, status=200):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def _xml(response, status=200):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)  # noqa: S314 - our own response


def _errors(response, status):
    """The spec's error shape, JSON or XML; returns the descriptions."""
    if response["Content-Type"].startswith("text/xml"):
        root = _xml(response, status)
        assert root.tag == "errors"
        errors = root.findall("error")
        assert errors and all(e.findtext("code") == str(status) for e in errors)
        return [e.findtext("description") for e in errors]
    body = _json(response, status)
    assert isinstance(body, list) and body
    assert all(set(e) == {"code", "description"} and e["code"] == status for e in body)
    return [e["description"] for e in body]


def _post(client, fmt="json", headers=None, **data):
    return client.post(f"{BASE}/requests.{fmt}", data, headers=headers)


# --- discovery and services ------------------------------------------------------------------


def test_discovery_in_both_formats(client, db):
    body = _json(client.get(f"{BASE}/discovery.json"))
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["application/json", "text/xml"]
    root = _xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in endpoint.findall("formats/format")] == [
        "application/json",
        "text/xml",
    ]
    assert reverse("open311:discovery", kwargs={"fmt": "xml"}) == f"{BASE}/discovery.xml"


def test_services_in_both_formats_and_languages(client, survey):
    body = _json(client.get(f"{BASE}/services.json"))
    by_code = {row["service_code"]: row for row in body}
    assert {"noise", "fire-passage", "illegal-building"} <= set(by_code)
    noise = by_code["noise"]
    assert set(noise) == {
        "service_code", "service_name", "description", "metadata", "type", "keywords", "group"
    }  # fmt: skip
    assert (noise["service_name"], noise["metadata"], noise["type"]) == (
        "噪音扰民",
        True,
        "realtime",
    )
    assert by_code["fire-passage"]["metadata"] is False
    english = _json(client.get(f"{BASE}/services.json?locale=en"))
    assert {r["service_code"]: r["service_name"] for r in english}["noise"] == "Noise"
    accepted = _json(client.get(f"{BASE}/services.json", HTTP_ACCEPT_LANGUAGE="en"))
    assert {r["service_code"]: r["service_name"] for r in accepted}["noise"] == "Noise"

    root = _xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    services = {s.findtext("service_code"): s for s in root.findall("service")}
    assert services["noise"].findtext("metadata") == "true"
    assert services["fire-passage"].findtext("metadata") == "false"
    assert services["noise"].findtext("service_name") == "噪音扰民"


def test_service_definition_in_both_formats(client, survey):
    body = _json(client.get(f"{BASE}/services/noise.json?locale=en"))
    assert body["service_code"] == "noise"
    floor, when = body["attributes"]
    assert set(floor) == {
        "variable", "code", "datatype", "required", "datatype_description", "order",
        "description", "values",
    }  # fmt: skip
    assert (floor["code"], floor["datatype"], floor["required"], floor["variable"]) == (
        "floor", "number", True, True
    )  # fmt: skip
    assert when["values"] == [
        {"key": "night", "name": "At night"},
        {"key": "day", "name": "By day"},
    ]
    root = _xml(client.get(f"{BASE}/services/noise.xml"))
    assert root.tag == "service_definition"
    attributes = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attributes] == ["floor", "when"]
    values = attributes[1].findall("values/value")
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [
        ("night", "夜间"),
        ("day", "白天"),
    ]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_service_is_a_404_in_the_error_shape(client, issue_world, fmt):
    assert _errors(client.get(f"{BASE}/services/nope.{fmt}"), 404)


# --- POST: refusals --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_refuses_a_bad_revoked_or_unscoped_key(client, issue_world, key_for, fmt):
    where = {"service_code": "noise", "description": "吵", "address_id": issue_world.a.building.pk}
    assert _errors(_post(client, fmt, **where), 403)  # no key
    assert _errors(_post(client, fmt, api_key="linli_dead_beef", **where), 403)
    reader, reader_key = key_for(issue_world.a.neighbourhood, scopes=["issues:read"])
    (message,) = _errors(_post(client, fmt, api_key=reader_key, **where), 403)
    assert "issues:write" in message
    revoked, revoked_key = key_for(issue_world.a.neighbourhood)
    api_key_revoke(api_key=revoked)
    assert _errors(_post(client, fmt, api_key=revoked_key, **where), 403)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_refuses_an_unknown_service_and_a_missing_location(client, survey, key_for, fmt):
    _key, raw = key_for(survey.a.neighbourhood)
    base = {"api_key": raw, "description": "楼下装修太吵", "attribute[floor]": "3"}
    (message,) = _errors(_post(client, fmt, service_code="nope", address_string="x", **base), 400)
    assert "nope" in message
    assert _errors(_post(client, fmt, service_code="noise", **base), 400)
    assert _errors(_post(client, fmt, service_code="noise", lat="abc", long="1", **base), 400)


def test_post_reports_each_attribute_error(client, survey, key_for):
    _key, raw = key_for(survey.a.neighbourhood)
    response = _post(
        client,
        api_key=raw,
        service_code="noise",
        description="吵",
        address_id=survey.a.building.pk,
        **{"attribute[when]": "noon"},
    )
    messages = _errors(response, 400)
    assert len(messages) == 2
    assert any(m.startswith("attribute[floor]: ") for m in messages)
    assert any(m.startswith("attribute[when]: ") for m in messages)


# --- POST → token → request ------------------------------------------------------------------


def test_round_trip_and_no_reporter_data(client, survey, key_for):
    key, raw = key_for(survey.a.neighbourhood)
    response = _post(
        client,
        headers={"accept-language": "en"},
        api_key=raw,
        service_code="noise",
        description="楼上深夜装修 <很吵> & 震动",
        address_id=survey.a.building.pk,
        first_name="三",
        last_name="张",
        phone="13912345678",
        email="zhang.san@example.com",
        media_url="http://10.0.0.1/secret.jpg",
        device_id="dev-1",
        account_id="acct-9",
        **{"attribute[floor]": "5", "attribute[when]": "night"},
    )
    (created,) = _json(response, 201)
    assert set(created) == {"service_request_id", "token", "service_notice", "account_id"}
    assert created["token"] and created["account_id"] == "acct-9"
    assert created["service_notice"] == "Acknowledged within 24 hours, resolved within 7 days"

    issue = survey.noise.issues.get()
    assert (issue.source, issue.api_key_id, issue.building_id) == (
        Source.OPEN311, key.pk, survey.a.building.pk
    )  # fmt: skip
    assert (issue.contact_name, issue.contact_phone) == ("张三", "13912345678")
    assert issue.attributes == {"floor": 5, "when": "night"}
    submitted = issue.events.get(kind="submitted")
    assert submitted.data["open311"]["media_url"] == "http://10.0.0.1/secret.jpg"

    (found,) = _json(client.get(f"{BASE}/tokens/{created['token']}.json"))
    assert found == {"service_request_id": str(issue.pk), "token": created["token"]}
    root = _xml(client.get(f"{BASE}/tokens/{created['token']}.xml"))
    assert root.tag == "service_requests"
    assert root.find("request").findtext("service_request_id") == str(issue.pk)
    assert _errors(client.get(f"{BASE}/tokens/nope.json"), 404)

    (row,) = _json(client.get(f"{BASE}/requests/{issue.pk}.json"))
    assert list(row) == REQUEST_FIELDS
    assert (row["status"], row["service_code"], row["address_id"]) == (
        "open", "noise", str(survey.a.building.pk)
    )  # fmt: skip
    assert row["description"] == "楼上深夜装修 <很吵> & 震动"
    assert row["agency_responsible"] == survey.a.company.name
    xml_response = client.get(f"{BASE}/requests/{issue.pk}.xml")
    request_element = _xml(xml_response).find("request")
    assert [child.tag for child in request_element] == REQUEST_FIELDS
    assert request_element.findtext("description") == "楼上深夜装修 <很吵> & 震动"

    listed = client.get(f"{BASE}/requests.json")
    for response in (listed, client.get(f"{BASE}/requests.xml"), xml_response):
        text = response.content.decode()
        for secret in ("张三", "13912345678", "zhang.san", "acct-9", "dev-1", "10.0.0.1"):
            assert secret not in text
    assert [r["service_request_id"] for r in _json(listed)] == [str(issue.pk)]


def test_post_places_by_coordinates_and_by_address(client, issue_world, key_for):
    estate = issue_world.a.estate
    estate.latitude, estate.longitude = "31.350000", "121.400000"
    estate.save()
    _key, raw = key_for(issue_world.subdistrict)
    common = {"api_key": raw, "service_code": "fire-passage", "description": "通道被堵"}
    (near,) = _json(_post(client, lat="31.351", long="121.4005", **common), 201)
    # a subdistrict key: nothing near and no own place to fall back on
    assert _errors(_post(client, lat="31.5", long="121.9", **common), 400)
    by_name = f"宝山区友谊路{issue_world.b.estate.name}3号楼门口"
    (named,) = _json(_post(client, address_string=by_name, **common), 201)
    placed = {i.pk: i for i in issue_world.passage.issues.all()}
    assert placed[int(near["service_request_id"])].estate_id == estate.pk
    named_issue = placed[int(named["service_request_id"])]
    assert named_issue.estate_id == issue_world.b.estate.pk
    assert named_issue.address == by_name
    # a neighbourhood key falls back on its neighbourhood
    _key, raw_a = key_for(issue_world.a.neighbourhood)
    common["api_key"] = raw_a
    (fallback,) = _json(_post(client, address_string="某路100号", **common), 201)
    issue = issue_world.passage.issues.get(pk=fallback["service_request_id"])
    assert (issue.neighbourhood_id, issue.estate_id) == (issue_world.a.neighbourhood.pk, None)


# --- GET: jurisdiction, settings, filters ----------------------------------------------------


def test_a_key_of_b_neither_sees_nor_places_in_a(client, issue_world, key_for):
    issue_a = IssueFactory(category=issue_world.noise, building=issue_world.a.building)
    issue_b = IssueFactory(category=issue_world.noise, building=issue_world.b.building)
    _key, raw_b = key_for(issue_world.b.neighbourhood)
    assert _errors(client.get(f"{BASE}/requests/{issue_a.pk}.json?api_key={raw_b}"), 404)
    assert _errors(client.get(f"{BASE}/requests/{issue_a.pk}.xml?api_key={raw_b}"), 404)
    rows = _json(client.get(f"{BASE}/requests.json?api_key={raw_b}"))
    assert [r["service_request_id"] for r in rows] == [str(issue_b.pk)]
    # the header works as well as the parameter
    rows = _json(client.get(f"{BASE}/requests.json", HTTP_AUTHORIZATION=f"Api-Key {raw_b}"))
    assert [r["service_request_id"] for r in rows] == [str(issue_b.pk)]
    response = _post(
        client,
        api_key=raw_b,
        service_code="fire-passage",
        description="堵了",
        address_id=issue_world.a.building.pk,
    )
    assert _errors(response, 400)
    # everyone sees both without a key
    assert len(_json(client.get(f"{BASE}/requests.json"))) == 2


@override_settings(LINLI_OPEN311_PUBLIC_READ=False)
def test_public_read_off_needs_a_key_with_read(client, issue_world, key_for):
    issue = IssueFactory(category=issue_world.noise, building=issue_world.a.building)
    assert _errors(client.get(f"{BASE}/requests.json"), 403)
    assert _errors(client.get(f"{BASE}/requests/{issue.pk}.xml"), 403)
    _key, writer = key_for(issue_world.a.neighbourhood, scopes=["issues:write"])
    assert _errors(client.get(f"{BASE}/requests.json?api_key={writer}"), 403)
    _key, reader = key_for(issue_world.a.neighbourhood, scopes=["issues:read"])
    (row,) = _json(client.get(f"{BASE}/requests.json?api_key={reader}"))
    assert row["service_request_id"] == str(issue.pk)
    assert _json(client.get(f"{BASE}/services.json"))  # services stay public


def test_statuses_filters_and_notes(client, issue_world):
    open_one = IssueFactory(category=issue_world.noise, building=issue_world.a.building)
    rejected = IssueFactory(
        category=issue_world.passage,
        building=issue_world.a.building,
        status=Status.REJECTED,
        reason="不属于物业管理范围",
    )
    IssueFactory(category=issue_world.noise, building=issue_world.a.building, status=Status.MERGED)
    committed = IssueFactory(
        category=issue_world.noise,
        building=issue_world.b.building,
        status=Status.IN_PROGRESS,
        committed_due=datetime.date(2030, 1, 5),
    )
    IssuePhoto.objects.create(issue=committed, image="issues/p1.jpg", thumbnail="issues/t1.jpg")

    def ids(query):
        return [r["service_request_id"] for r in _json(client.get(f"{BASE}/requests.json{query}"))]

    assert ids("") == [str(committed.pk), str(rejected.pk), str(open_one.pk)]  # newest first
    assert ids("?status=closed") == [str(rejected.pk)]
    assert ids("?status=open,closed&service_code=fire-passage") == [str(rejected.pk)]
    assert ids(f"?service_request_id={open_one.pk},{rejected.pk}") == [
        str(rejected.pk),
        str(open_one.pk),
    ]
    assert ids("?start_date=2000-01-01T00:00:00Z&end_date=2000-02-01T00:00:00Z") == []
    assert len(ids("?start_date=2000-01-01T00:00:00%2B08:00")) == 3
    assert _errors(client.get(f"{BASE}/requests.json?start_date=yesterday"), 400)
    assert _errors(client.get(f"{BASE}/requests.xml?status=pending"), 400)

    rows = {r["service_request_id"]: r for r in _json(client.get(f"{BASE}/requests.json"))}
    assert rows[str(rejected.pk)]["status_notes"] == "不属于物业管理范围"
    row = rows[str(committed.pk)]
    assert row["expected_datetime"].startswith("2030-01-05T23:59:59")
    assert row["media_url"].startswith("http://testserver/open311/v2/photos/")


def test_old_reports_drop_out_after_90_days_and_the_cap_holds(client, issue_world):
    old = IssueFactory(category=issue_world.noise, building=issue_world.a.building)
    type(old).objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=91)
    )
    new = IssueFactory.create_batch(3, category=issue_world.noise, building=issue_world.a.building)
    assert len(_json(client.get(f"{BASE}/requests.json"))) == 3
    with override_settings(LINLI_OPEN311_MAX_REQUESTS=2):
        rows = _json(client.get(f"{BASE}/requests.json"))
    assert [r["service_request_id"] for r in rows] == [str(new[2].pk), str(new[1].pk)]
    assert len(_json(client.get(f"{BASE}/requests.json?start_date=2000-01-01"))) == 4


def test_jurisdiction_id_must_be_ours(client, issue_world):
    assert _json(client.get(f"{BASE}/services.json?jurisdiction_id=testserver"))
    assert _errors(client.get(f"{BASE}/services.json?jurisdiction_id=elsewhere.gov"), 404)
    with override_settings(LINLI_OPEN311_JURISDICTION="baoshan.linli.example"):
        ours = client.get(f"{BASE}/requests.json?jurisdiction_id=baoshan.linli.example")
        assert _json(ours) == []
        assert _errors(client.get(f"{BASE}/requests.xml?jurisdiction_id=testserver"), 404)


@pytest.mark.parametrize("count", [1, 30])
def test_requests_list_query_count_is_fixed(
    client, issue_world, key_for, count, django_assert_max_num_queries
):
    for index in range(count):
        side = issue_world.a if index % 2 else issue_world.b
        issue = IssueFactory(category=issue_world.noise, building=side.building)
        IssuePhoto.objects.create(issue=issue, image=f"issues/{index}.jpg", thumbnail="t.jpg")
    # one query: the reports with their names, latest answer and first photo
    with django_assert_max_num_queries(1):
        assert len(_json(client.get(f"{BASE}/requests.json"))) == count
    _key, raw = key_for(issue_world.subdistrict, scopes=["issues:read"])
    # plus the key: its row, content type, last use, its jurisdiction
    with django_assert_max_num_queries(7):
        root = _xml(client.get(f"{BASE}/requests.xml?api_key={raw}"))
    assert len(root.findall("request")) == count


def test_post_is_throttled_per_key(client, issue_world, key_for, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "1/min", "user": "1/min", "anon": "100/min"},
    }
    _key, raw = key_for(issue_world.a.neighbourhood)
    data = {"service_code": "fire-passage", "description": "堵了", "api_key": raw}
    _json(_post(client, address_id=issue_world.a.building.pk, **data), 201)
    response = _post(client, "xml", address_id=issue_world.a.building.pk, **data)
    assert _errors(response, 429) and int(response["Retry-After"]) >= 1
    _other, raw_other = key_for(issue_world.a.neighbourhood)
    data["api_key"] = raw_other
    _json(_post(client, address_id=issue_world.a.building.pk, **data), 201)


def test_xml_escapes_markup_and_drops_what_xml_cannot_hold():
    body = to_xml("service_requests", [{"description": "a<b>&\x01c", "lat": None, "ok": True}])
    root = ET.fromstring(body)  # noqa: S314 - our own output
    request = root.find("request")
    assert request.findtext("description") == "a<b>&c"
    assert (request.findtext("lat"), request.findtext("ok")) == ("", "true")
    assert body.startswith(b"<?xml")


def test_a_wrong_method_or_id_answers_in_the_error_shape(client, issue_world):
    assert _errors(client.put(f"{BASE}/requests.xml"), 405)
    assert _errors(client.post(f"{BASE}/services.json"), 405)
    assert _errors(client.get(f"{BASE}/requests/abc.json"), 404)
    assert client.get(f"{BASE}/requests.html").status_code == 404


def _stored_photo(issue):
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    from core.images import process_image

    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "blue").save(buffer, "JPEG")
    stored = process_image(ContentFile(buffer.getvalue(), name="p.jpg"), prefix="issues")
    return IssuePhoto.objects.create(
        issue=issue, image=stored.name, thumbnail=stored.thumbnail_name
    )


def test_media_url_is_a_signed_link_that_opens_the_photo_while_the_report_is_public(
    client, issue_world, monkeypatch
):
    issue = IssueFactory(category=issue_world.noise, building=issue_world.a.building)
    _stored_photo(issue)
    (row,) = _json(client.get(f"{BASE}/requests/{issue.pk}.json"))
    url = row["media_url"].removeprefix("http://testserver")
    opened = client.get(url)
    assert opened.status_code == 200 and opened["Content-Type"] == "image/jpeg"
    assert b"".join(opened.streaming_content)[:2] == b"\xff\xd8"

    assert client.get(url[:-3] + "xyz/").status_code == 404  # a forged token
    with override_settings(LINLI_OPEN311_PUBLIC_READ=False):
        assert client.get(url).status_code == 404
    import time

    later = time.time() + 8 * 86400  # past MEDIA_URL_DAYS
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    assert client.get(url).status_code == 404
    monkeypatch.undo()
    type(issue).objects.filter(pk=issue.pk).update(status=Status.MERGED)
    assert client.get(url).status_code == 404
