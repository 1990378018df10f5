"""issue_create, clean_attributes and photos (issues.services.reporting)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext

from issues.models import (
    AttributeType,
    EventKind,
    Follow,
    HandlerLevel,
    Issue,
    IssueEvent,
    IssuePhoto,
    Source,
    Status,
)
from issues.services import clean_attributes, issue_create, photo_add
from tests.factories import EstateFactory, UserFactory

from .factories import CategoryAttributeFactory, CategoryFactory, verified_resident
from .helpers import notified_ids, png, report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


def stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- create and route ------------------------------------------------------------------------


def test_web_report_on_a_building_routes_to_the_property_company(issue_world):
    w = issue_world
    now = timezone.now().replace(microsecond=0)
    issue = report(w, now=now)
    issue.refresh_from_db()
    assert (issue.neighbourhood_id, issue.estate_id, issue.building_id) == (
        w.a.neighbourhood.pk,
        w.a.estate.pk,
        w.a.building.pk,
    )
    assert issue.subdistrict_id == w.subdistrict.pk and issue.district_id == w.district.pk
    assert issue.status == Status.SUBMITTED
    assert issue.handler_level == HandlerLevel.PROPERTY
    assert issue.property_company_id == w.a.company.pk
    assert issue.acknowledge_due == now + datetime.timedelta(hours=24)
    assert issue.resolve_due == now + datetime.timedelta(hours=168)
    assert issue.due_at == issue.acknowledge_due
    assert issue.created_at == now
    assert issue.follower_count == 1
    assert list(Follow.objects.filter(issue=issue).values_list("user_id", flat=True)) == [
        w.a.resident.pk
    ]
    (event,) = IssueEvent.objects.filter(issue=issue)
    assert event.kind == EventKind.SUBMITTED and event.public
    assert event.actor_label == gettext("a resident")  # not public by default
    assert event.data["source"] == Source.WEB
    # the property staff of the estate hear about it, the other side's do not
    assert notified_ids("issue.new", issue) == {w.a.property_staff.pk}


def test_the_reporter_may_show_their_name(issue_world):
    issue = report(issue_world, reporter_public=True)
    assert issue.events.get().actor_label == "甲居民"


def test_committee_category_goes_to_the_committee(issue_world):
    w = issue_world
    issue = report(w, category=w.passage)
    assert issue.handler_level == HandlerLevel.COMMITTEE
    assert notified_ids("issue.new", issue) == {w.a.cadre.pk}


def test_department_category_goes_to_the_department(issue_world):
    w = issue_world
    issue = report(w, category=w.building_work)
    assert issue.handler_level == HandlerLevel.DEPARTMENT
    assert issue.department_id == w.department.pk
    assert notified_ids("issue.new", issue) == {w.department_staff.pk}


def test_department_without_the_code_goes_to_the_level(issue_world):
    w = issue_world
    category = CategoryFactory(handler_kind=HandlerLevel.DEPARTMENT, department_code="fangguan")
    issue = report(w, category=category)
    assert issue.handler_level == HandlerLevel.DEPARTMENT and issue.department_id is None
    assert notified_ids("issue.new", issue) == {w.department_staff.pk}


def test_property_category_on_a_street_goes_to_the_committee(issue_world):
    w = issue_world
    issue = report(w, building=None, neighbourhood=w.a.neighbourhood, address="友谊路 100 号")
    assert issue.estate_id is None and issue.building_id is None
    assert issue.neighbourhood_id == w.a.neighbourhood.pk
    assert issue.handler_level == HandlerLevel.COMMITTEE
    assert issue.address == "友谊路 100 号"


def test_estate_without_company_goes_to_the_committee(issue_world):
    w = issue_world
    estate = EstateFactory(neighbourhood=w.a.neighbourhood, property_company=None)
    issue = report(w, building=None, estate=estate)
    assert issue.estate_id == estate.pk and issue.neighbourhood_id == w.a.neighbourhood.pk
    assert issue.handler_level == HandlerLevel.COMMITTEE


def test_a_place_is_required(issue_world):
    with pytest.raises(ValidationError) as error:
        report(issue_world, building=None)
    assert "neighbourhood" in error.value.message_dict
    assert not Issue.objects.exists()


@pytest.mark.parametrize("description", ["", "   ", "x" * 2001])
def test_description_required_and_bounded(issue_world, description):
    with pytest.raises(ValidationError) as error:
        report(issue_world, description=description)
    assert "description" in error.value.message_dict
    assert not Issue.objects.exists()


def test_web_report_needs_a_verified_reporter(issue_world):
    w = issue_world
    for user in (UserFactory(verified=False), UserFactory(verified=True), None):
        with pytest.raises(PermissionDenied):
            report(w, reporter=user) if user is not None else issue_create(
                category=w.noise, description="x", source=Source.WEB, building=w.a.building
            )
    assert not Issue.objects.exists()


def test_web_report_in_another_neighbourhood_is_refused(issue_world):
    w = issue_world
    with pytest.raises(PermissionDenied):
        report(w, reporter=w.b.resident, building=w.a.building)
    assert not Issue.objects.exists()


def test_staff_report_for_a_caller(issue_world):
    w = issue_world
    issue = issue_create(
        category=w.passage,
        description="电话反映：消防通道被占",
        source=Source.STAFF,
        entered_by=w.a.cadre,
        building=w.a.building,
        contact_name="王先生",
        contact_phone="13800000000",
    )
    assert issue.reporter_id is None and issue.follower_count == 0
    assert issue.events.get().actor_label == gettext("a caller")
    with pytest.raises(PermissionDenied):
        issue_create(
            category=w.passage,
            description="x",
            source=Source.STAFF,
            entered_by=w.b.cadre,
            building=w.a.building,
        )


def test_open311_token(issue_world):
    w = issue_world
    issue = issue_create(
        category=w.noise,
        description="噪音",
        source=Source.OPEN311,
        building=w.a.building,
        with_token=True,
    )
    assert len(issue.open311_token) == 32


def test_inactive_category_is_refused(issue_world):
    w = issue_world
    w.noise.active = False
    w.noise.save()
    with pytest.raises(ValidationError):
        report(w)


# --- attributes --------------------------------------------------------------------------


@pytest.fixture
def questions(issue_world):
    category = CategoryFactory(code="questions")
    values = [
        {"key": "day", "name_zh": "白天", "name_en": "Day"},
        {"key": "night", "name_zh": "夜间", "name_en": "Night"},
    ]
    CategoryAttributeFactory(
        category=category, code="floor", datatype=AttributeType.NUMBER, required=True
    )
    CategoryAttributeFactory(category=category, code="since", datatype=AttributeType.DATETIME)
    CategoryAttributeFactory(
        category=category, code="when", datatype=AttributeType.SINGLE, values=values
    )
    CategoryAttributeFactory(
        category=category, code="times", datatype=AttributeType.MULTI, values=values
    )
    CategoryAttributeFactory(category=category, code="note", datatype=AttributeType.STRING)
    return category


def test_clean_attributes_normalises(questions):
    cleaned = clean_attributes(
        category=questions,
        raw={
            "floor": " 3 ",
            "since": "2024-05-01T08:30",
            "when": "night",
            "times": ["day", "night", "day"],
            "note": " 楼上 ",
            "unknown": "x",
        },
    )
    assert cleaned == {
        "floor": 3,
        "since": "2024-05-01T08:30:00",
        "when": "night",
        "times": ["day", "night"],
        "note": "楼上",
    }
    assert clean_attributes(category=questions, raw={"floor": "2.5"}) == {"floor": 2.5}


@pytest.mark.parametrize(
    ("raw", "bad"),
    [
        ({}, "floor"),
        ({"floor": "three"}, "floor"),
        ({"floor": "nan"}, "floor"),
        ({"floor": 1, "since": "yesterday"}, "since"),
        ({"floor": 1, "when": "dawn"}, "when"),
        ({"floor": 1, "times": ["day", "dawn"]}, "times"),
        ({"floor": 1, "times": "dawn"}, "times"),
    ],
)
def test_clean_attributes_refuses(questions, raw, bad):
    with pytest.raises(ValidationError) as error:
        clean_attributes(category=questions, raw=raw)
    assert bad in error.value.message_dict


def test_create_with_bad_attributes_writes_nothing(issue_world, questions):
    with pytest.raises(ValidationError) as error:
        report(issue_world, category=questions, attributes={"floor": "x"})
    assert list(error.value.message_dict) == ["floor"]
    assert not Issue.objects.exists()
    issue = report(issue_world, category=questions, attributes={"floor": "4", "times": ["day"]})
    assert issue.attributes == {"floor": 4, "times": ["day"]}


# --- photos ------------------------------------------------------------------------------


def test_photos_are_stored(issue_world, tmp_path):
    issue = report(issue_world, photos=[png(), png(color=(0, 0, 200))])
    photos = list(IssuePhoto.objects.filter(issue=issue))
    assert len(photos) == 2 and all(p.event_id is None for p in photos)
    assert all(default_storage.exists(p.image.name) for p in photos)
    assert all(p.image.name.startswith("issues/") for p in photos)
    assert len(stored_files(tmp_path)) == 4  # and their thumbnails


def test_at_most_nine_photos(issue_world, tmp_path):
    with pytest.raises(ValidationError) as error:
        report(issue_world, photos=[png() for _ in range(10)])
    assert error.value.message_dict["photos"]
    assert not Issue.objects.exists() and stored_files(tmp_path) == []


def test_the_limit_is_a_setting(issue_world, settings):
    settings.LINLI_ISSUE_MAX_PHOTOS = 1
    with pytest.raises(ValidationError):
        report(issue_world, photos=[png(), png()])


def test_a_bad_photo_refuses_and_leaves_no_files(issue_world, tmp_path):
    bad = png()
    bad = type(bad)(b"not an image")
    with pytest.raises(ValidationError):
        report(issue_world, photos=[png(), bad])
    assert not Issue.objects.exists() and stored_files(tmp_path) == []


def test_a_failed_create_leaves_no_stored_files(issue_world, tmp_path, monkeypatch):
    from issues.services import reporting

    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(reporting, "publish", boom)
    with pytest.raises(RuntimeError):
        report(issue_world, photos=[png(), png()])
    assert not Issue.objects.exists() and not IssuePhoto.objects.exists()
    assert stored_files(tmp_path) == []


def test_duplicate_external_id_leaves_no_files(issue_world, tmp_path):
    w = issue_world
    kwargs = dict(
        category=w.noise,
        description="12345 转办",
        source=Source.HOTLINE,
        building=w.a.building,
        external_id="H-1",
    )
    issue_create(**kwargs)
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        issue_create(**kwargs, photos=[png()])
    assert Issue.objects.count() == 1 and stored_files(tmp_path) == []


def test_photo_add(issue_world, tmp_path):
    w = issue_world
    issue = report(w)
    photo = photo_add(issue=issue, actor=w.a.resident, upload=png())
    assert photo.issue_id == issue.pk and photo.uploaded_by_id == w.a.resident.pk
    photo_add(issue=issue, actor=w.a.property_staff, upload=png())
    with pytest.raises(PermissionDenied):
        photo_add(issue=issue, actor=w.a.neighbour, upload=png())
    with pytest.raises(PermissionDenied):
        photo_add(issue=issue, actor=w.b.property_staff, upload=png())
    assert issue.photos.count() == 2 and len(stored_files(tmp_path)) == 4


def test_photo_add_keeps_the_limit(issue_world, settings, tmp_path):
    settings.LINLI_ISSUE_MAX_PHOTOS = 2
    w = issue_world
    issue = report(w, photos=[png(), png()])
    with pytest.raises(ValidationError):
        photo_add(issue=issue, actor=w.a.resident, upload=png())
    assert len(stored_files(tmp_path)) == 4


def test_other_neighbourhood_resident_is_verified_but_refused(issue_world):
    w = issue_world
    stranger = verified_resident(w.b.dwelling, name="乙路人")
    with pytest.raises(PermissionDenied):
        report(w, reporter=stranger)
