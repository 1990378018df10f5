"""智慧报表: conditions, the query, the pages, saved reports, export; scoping everywhere."""

import datetime
import io
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Role
from accounts.services import role_grant
from buildings.models import add_years
from core.models import AuditEvent
from residents.models import CareTag, SavedReport
from residents.selectors.reports import (
    apply_conditions,
    birth_date_bounds,
    clean_conditions,
    report_residents,
)
from residents.services import (
    ensure_example_reports,
    resident_mark_moved_out,
    saved_report_create,
    saved_report_rename,
    saved_report_run,
)
from tests.factories import (
    BuildingFactory,
    DwellingFactory,
    HouseholdFactory,
    ResidentFactory,
    UserFactory,
    make_id_number,
)

pytestmark = pytest.mark.django_db

_seq = itertools.count(700)


def born(age: int, days: int = 0) -> datetime.date:
    """The birth date of someone exactly ``age`` today, shifted by ``days`` (later = younger)."""
    return add_years(timezone.localdate(), -age) + datetime.timedelta(days=days)


def person(dwelling, age, *, days=0, tags=(), **kwargs):
    birth = born(age, days)
    kwargs.setdefault("id_number", make_id_number(next(_seq), birth=birth))
    if not kwargs["id_number"]:
        kwargs.setdefault("birth_date", birth)
    return ResidentFactory(
        household=HouseholdFactory(dwelling=dwelling), care_tags=list(tags), **kwargs
    )


def names(queryset):
    return {r.name for r in queryset}


@pytest.fixture
def tags(db):
    return {
        "party": CareTag.objects.create(code="party-member", name="党员"),
        "alone": CareTag.objects.create(code="elderly-alone", name="独居老人"),
        "low": CareTag.objects.create(code="low-income", name="低保"),
    }


@pytest.fixture
def people(world, tags):
    a = world.a
    other_building = BuildingFactory(estate=a.estate, number="2号楼")
    far_dwelling = DwellingFactory(building=other_building, room="201")
    return {
        "old_alone": person(
            a.dwelling, 91, name="百岁", tags=[tags["alone"]], lives_alone=True, gender="F"
        ),
        "ninety_today": person(a.dwelling, 90, name="今天九十"),
        "ninety_tomorrow": person(a.dwelling, 90, days=1, name="明天九十"),
        "eighty": person(
            far_dwelling, 85, name="八五", tags=[tags["party"], tags["low"]], lives_alone=True
        ),
        "young": person(
            far_dwelling, 30, name="三十", tags=[tags["party"]], residence_status="renting"
        ),
        "other_side": person(world.b.dwelling, 95, name="乙方老人", lives_alone=True),
        "far_building": far_dwelling.building,
    }


def run(user, **raw):
    return names(report_residents(user=user, conditions=clean_conditions(raw)))


# --- conditions ---------------------------------------------------------------------------


def test_clean_conditions_normalises():
    assert clean_conditions({}) == {"moved_out": "current"}
    assert clean_conditions(
        {
            "age_min": 80,
            "tags": ["b", "a", "a"],
            "estates": [3, 1],
            "gender": "",
            "lives_alone": None,
            "tags_mode": "all",
        }
    ) == {
        "age_min": 80,
        "tags": ["a", "b"],
        "tags_mode": "all",
        "estates": [1, 3],
        "moved_out": "current",
    }
    # a match mode without tags means nothing
    assert clean_conditions({"tags_mode": "all"}) == {"moved_out": "current"}


@pytest.mark.parametrize(
    "raw",
    [
        {"neighbourhood_id__in": [1, 2]},  # not a condition: refused, never passed to the ORM
        {"age_min": "90"},
        {"age_min": True},
        {"age_min": -1},
        {"age_max": 500},
        {"age_min": 90, "age_max": 80},
        {"estates": "all"},
        {"estates": [1, "2"]},
        {"buildings": [0]},
        {"tags": "party"},
        {"tags": [1]},
        {"tags_mode": "some"},
        {"residence_status": ["citizen"]},
        {"gender": "X"},
        {"lives_alone": "yes"},
        {"moved_out": "maybe"},
        ["age_min", 90],
    ],
)
def test_tampered_or_malformed_conditions_are_refused(raw):
    with pytest.raises(ValidationError):
        clean_conditions(raw)


def test_age_bounds_are_birth_date_ranges():
    today = datetime.date(2024, 3, 1)
    assert birth_date_bounds(age_min=90, age_max=None, today=today) == (
        datetime.date(1934, 3, 1),
        None,
    )
    assert birth_date_bounds(age_min=None, age_max=89, today=today) == (
        None,
        datetime.date(1934, 3, 1),
    )


# --- the query ------------------------------------------------------------------------------


def test_age_bands_select_the_right_people(world, people):
    cadre = world.a.cadre
    assert run(cadre, age_min=90) == {"百岁", "今天九十"}
    assert run(cadre, age_min=80, age_max=89) == {"八五", "明天九十"}
    assert run(cadre, age_max=30) == {"三十"}
    assert run(cadre, age_min=31, age_max=84) == set()


def test_tags_any_and_all(world, people):
    cadre = world.a.cadre
    assert run(cadre, tags=["party-member", "elderly-alone"]) == {"百岁", "八五", "三十"}
    assert run(cadre, tags=["party-member", "low-income"], tags_mode="all") == {"八五"}
    assert run(cadre, tags=["party-member"], tags_mode="all") == {"八五", "三十"}
    # a tag that no longer exists: nobody has it
    assert run(cadre, tags=["gone"], tags_mode="all") == set()
    assert run(cadre, tags=["gone"]) == set()


def test_status_place_gender_alone_and_moved_out(world, people):
    cadre = world.a.cadre
    assert run(cadre, residence_status=["renting"]) == {"三十"}
    assert run(cadre, buildings=[people["far_building"].pk]) == {"八五", "三十"}
    assert run(cadre, estates=[world.a.estate.pk], age_min=91) == {"百岁"}
    assert run(cadre, gender="F", age_min=90) == {"百岁"}
    assert run(cadre, lives_alone=True) == {"百岁", "八五"}
    assert "三十" in run(cadre, lives_alone=False)

    resident_mark_moved_out(resident=people["young"])
    assert "三十" not in run(cadre)
    assert run(cadre, moved_out="moved_out") == {"三十"}
    assert "三十" in run(cadre, moved_out="all")


def test_results_never_leave_the_viewers_scope(world, people):
    # conditions naming the other neighbourhood's places find nobody
    assert run(world.a.cadre, estates=[world.b.estate.pk]) == set()
    assert run(world.a.cadre, neighbourhoods=[world.b.neighbourhood.pk]) == set()
    assert run(world.b.cadre, age_min=80) == {"乙方老人"}
    nobody = UserFactory()
    assert run(nobody, age_min=0) == set()


def test_apply_conditions_query_is_a_single_statement(world, people, django_assert_num_queries):
    conditions = clean_conditions({"age_min": 80})
    report_residents(user=world.a.cadre, conditions=conditions)  # warms the user's scope cache
    with django_assert_num_queries(1):
        queryset = report_residents(user=world.a.cadre, conditions=conditions, for_list=False)
        assert queryset.count() == 4
    # tags cost one more small lookup (codes to ids)
    from residents.models import Resident

    with django_assert_num_queries(2):
        list(apply_conditions(Resident.objects.all(), clean_conditions({"tags": ["party-member"]})))


# --- the builder page ---------------------------------------------------------------------


def test_builder_shows_count_and_masked_list(world, people, login):
    client = login(world.a.cadre)
    response = client.get(reverse("registry:reports"), {"age_min": 90})
    assert response.status_code == 200
    body = response.content.decode()
    assert "百岁" in body and "今天九十" in body
    assert "明天九十" not in body and "乙方老人" not in body
    assert response.context["page_obj"].paginator.count == 2
    old = people["old_alone"]
    assert old.masked_id in body
    assert old.decrypt_identifier() not in body
    assert old.decrypt_phone() not in body


def test_builder_without_conditions_lists_current_residents(world, people, login):
    client = login(world.a.cadre)
    response = client.get(reverse("registry:reports"))
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 5


def test_builder_offers_only_the_viewers_places(world, people, login):
    client = login(world.a.cadre)
    form = client.get(reverse("registry:reports")).context["form"]
    estate_ids = {pk for pk, _name in form.fields["estates"].choices}
    assert estate_ids == {world.a.estate.pk}
    response = client.get(reverse("registry:reports"), {"estates": world.b.estate.pk})
    assert response.context["form"].errors["estates"]
    assert "乙方老人" not in response.content.decode()


def test_builder_partial_renders_only_the_results(world, people, login):
    client = login(world.a.cadre)
    response = client.get(
        reverse("registry:reports"), {"age_min": 90}, headers={"X-Linli-Partial": "report"}
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "百岁" in body
    assert "X-Linli-Partial" in response["Vary"]


def test_builder_invalid_conditions_show_errors_not_results(world, people, login):
    client = login(world.a.cadre)
    response = client.get(reverse("registry:reports"), {"age_min": 90, "age_max": 80})
    assert response.status_code == 200
    assert response.context["page_obj"] is None
    assert response.context["form"].errors


def test_builder_query_count_does_not_grow_with_results(
    world, tags, login, django_assert_max_num_queries
):
    client = login(world.a.cadre)
    url = reverse("registry:reports")
    person(world.a.dwelling, 91, tags=[tags["party"]])
    person(world.a.dwelling, 92, tags=[tags["alone"]])
    with django_assert_max_num_queries(40) as few:
        client.get(url, {"age_min": 90})
    for age in range(90, 110):
        person(world.a.dwelling, age, tags=[tags["party"], tags["low"]])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url, {"age_min": 90})
    assert response.context["page_obj"].paginator.count == 22


def test_reports_need_a_cadre(world, login, client):
    response = client.get(reverse("registry:reports"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    login(UserFactory())
    assert client.get(reverse("registry:reports")).status_code == 403
    assert client.get(reverse("registry:report_saved_list")).status_code == 403


# --- saving, re-running, renaming, deleting ------------------------------------------------


def test_save_rerun_rename_delete(world, people, login):
    client = login(world.a.cadre)
    save = client.post(
        f"{reverse('registry:report_save')}?age_min=90&moved_out=current",
        {"name": "九十岁以上", "neighbourhood": world.a.neighbourhood.pk},
    )
    report = SavedReport.objects.get(name="九十岁以上")
    assert save.status_code == 302
    assert save["Location"] == reverse("registry:report_detail", args=[report.pk])
    assert report.neighbourhood == world.a.neighbourhood
    assert report.conditions == {"age_min": 90, "moved_out": "current"}
    assert report.created_by == world.a.cadre
    assert report.last_run_at is None

    detail = client.get(reverse("registry:report_detail", args=[report.pk]))
    assert detail.status_code == 200
    assert {r.name for r in detail.context["page_obj"].object_list} == {"百岁", "今天九十"}
    report.refresh_from_db()
    assert report.last_count == 2 and report.last_run_at is not None

    listing = client.get(reverse("registry:report_saved_list"))
    assert "九十岁以上" in listing.content.decode()

    client.post(reverse("registry:report_rename", args=[report.pk]), {"name": "免费牛奶"})
    report.refresh_from_db()
    assert report.name == "免费牛奶"

    client.post(reverse("registry:report_delete", args=[report.pk]))
    assert not SavedReport.objects.filter(pk=report.pk).exists()


def test_duplicate_name_is_a_clear_error(world, login):
    saved_report_create(
        neighbourhood=world.a.neighbourhood, name="老人", conditions={}, by=world.a.cadre
    )
    client = login(world.a.cadre)
    response = client.post(
        f"{reverse('registry:report_save')}?age_min=80",
        {"name": " 老人 ", "neighbourhood": world.a.neighbourhood.pk},
    )
    assert response.status_code == 400
    assert response.context["save_form"].errors["name"]
    assert SavedReport.objects.filter(neighbourhood=world.a.neighbourhood).count() == 1
    # the same name in another neighbourhood is fine
    saved_report_create(
        neighbourhood=world.b.neighbourhood, name="老人", conditions={}, by=world.b.cadre
    )
    other = saved_report_create(
        neighbourhood=world.a.neighbourhood, name="别的", conditions={}, by=world.a.cadre
    )
    response = client.post(
        reverse("registry:report_rename", args=[other.pk]), {"name": "老人"}, follow=True
    )
    other.refresh_from_db()
    assert other.name == "别的"
    assert "message--error" in response.content.decode()
    with pytest.raises(ValidationError) as caught:
        saved_report_rename(report=other, name="老人")
    assert caught.value.error_dict["name"][0].code == "duplicate"


def test_cannot_save_for_another_neighbourhood(world, login):
    client = login(world.b.cadre)
    response = client.post(
        f"{reverse('registry:report_save')}?age_min=80",
        {"name": "偷看", "neighbourhood": world.a.neighbourhood.pk},
    )
    assert response.status_code == 400
    assert not SavedReport.objects.filter(name="偷看").exists()
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        saved_report_create(
            neighbourhood=world.a.neighbourhood, name="偷看", conditions={}, by=world.b.cadre
        )


def test_other_neighbourhoods_saved_reports_are_404(world, people, login):
    report = saved_report_create(
        neighbourhood=world.a.neighbourhood, name="甲的报表", conditions={}, by=world.a.cadre
    )
    client = login(world.b.cadre)
    assert client.get(reverse("registry:report_detail", args=[report.pk])).status_code == 404
    assert client.get(reverse("registry:report_detail_export", args=[report.pk])).status_code == 404
    assert (
        client.post(reverse("registry:report_rename", args=[report.pk]), {"name": "x"}).status_code
        == 404
    )
    assert client.post(reverse("registry:report_delete", args=[report.pk])).status_code == 404
    assert "甲的报表" not in client.get(reverse("registry:report_saved_list")).content.decode()
    report.refresh_from_db()
    assert report.name == "甲的报表"
    assert report.last_run_at is None


def test_a_tampered_saved_report_does_not_run(world, people, login):
    report = saved_report_create(
        neighbourhood=world.a.neighbourhood, name="改过的", conditions={}, by=world.a.cadre
    )
    SavedReport.objects.filter(pk=report.pk).update(
        conditions={"neighbourhood_id__in": [world.b.neighbourhood.pk]}
    )
    report.refresh_from_db()
    with pytest.raises(ValidationError):
        saved_report_run(report=report, user=world.a.cadre)
    client = login(world.a.cadre)
    response = client.get(reverse("registry:report_detail", args=[report.pk]))
    assert response.status_code == 200
    assert response.context["invalid"] is True
    assert "乙方老人" not in response.content.decode()
    export = client.get(reverse("registry:report_detail_export", args=[report.pk]))
    assert export.status_code == 302


def test_a_saved_report_runs_within_the_viewer_and_its_neighbourhood(world, people):
    # Conditions naming another neighbourhood's estate, saved by hand: still nobody from there.
    report = saved_report_create(
        neighbourhood=world.a.neighbourhood,
        name="越界",
        conditions={"estates": [world.b.estate.pk], "age_min": 80},
        by=world.a.cadre,
    )
    _c, queryset, count = saved_report_run(report=report, user=world.a.cadre)
    assert count == 0 and list(queryset) == []
    # A subdistrict cadre covering both neighbourhoods sees only the report's neighbourhood.
    wide = UserFactory()
    role_grant(user=wide, role=Role.CADRE, place=world.subdistrict)
    plain = saved_report_create(
        neighbourhood=world.a.neighbourhood, name="八十", conditions={"age_min": 80}, by=wide
    )
    _c, queryset, count = saved_report_run(report=plain, user=wide)
    assert names(queryset) == {"百岁", "今天九十", "明天九十", "八五"}


def test_saved_list_query_count_is_fixed(world, login, django_assert_max_num_queries):
    client = login(world.a.cadre)
    saved_report_create(neighbourhood=world.a.neighbourhood, name="r0", conditions={}, by=None)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("registry:report_saved_list"))
    for n in range(1, 15):
        saved_report_create(
            neighbourhood=world.a.neighbourhood, name=f"r{n}", conditions={}, by=world.a.cadre
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("registry:report_saved_list"))
    assert len(response.context["page_obj"].object_list) == 15


# --- export -------------------------------------------------------------------------------


def test_export_is_masked_and_audited(world, people, login):
    client = login(world.a.cadre)
    response = client.get(reverse("registry:report_export"), {"age_min": 90})
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3  # header + 2
    exported = {row[0] for row in rows[1:]}
    assert exported == {"百岁", "今天九十"}
    old = people["old_alone"]
    flat = " ".join(str(v) for row in rows for v in row)
    assert old.masked_id in flat
    assert old.decrypt_identifier() not in flat
    assert old.decrypt_phone() not in flat
    event = AuditEvent.objects.get(action="registry_exported")
    assert event.actor == world.a.cadre
    assert event.params["rows"] == 2 and event.params["masked"] is True


def test_saved_report_export(world, people, login):
    report = saved_report_create(
        neighbourhood=world.a.neighbourhood,
        name="独居",
        conditions={"lives_alone": True},
        by=world.a.cadre,
    )
    client = login(world.a.cadre)
    response = client.get(reverse("registry:report_detail_export", args=[report.pk]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert {row[0] for row in list(sheet.iter_rows(values_only=True))[1:]} == {"百岁", "八五"}


# --- the demo examples ---------------------------------------------------------------------


def test_example_reports_are_idempotent_and_select_the_right_people(world, people):
    first = ensure_example_reports(world.a.neighbourhood)
    again = ensure_example_reports(world.a.neighbourhood)
    assert [r.pk for r in first] == [r.pk for r in again]
    assert SavedReport.objects.filter(neighbourhood=world.a.neighbourhood).count() == 2
    milk, alone = first
    assert milk.name == "90 岁以上老人 (免费牛奶)"
    assert alone.name == "80 岁以上独居老人"
    assert names(saved_report_run(report=milk, user=world.a.cadre)[1]) == {"百岁", "今天九十"}
    assert names(saved_report_run(report=alone, user=world.a.cadre)[1]) == {"百岁", "八五"}
    # the other neighbourhood's copy sees only its own people
    milk_b, _alone_b = ensure_example_reports(world.b.neighbourhood)
    assert names(saved_report_run(report=milk_b, user=world.b.cadre)[1]) == {"乙方老人"}


def test_export_audit_events_belong_to_the_neighbourhood_of_the_rows(world, people, login):
    """The cadre's audit list is scoped by neighbourhood: an export must name one."""
    client = login(world.a.cadre)
    assert client.get(reverse("registry:report_export"), {"age_min": 90}).status_code == 200
    event = AuditEvent.objects.get(action="registry_exported")
    assert event.neighbourhood_id == world.a.neighbourhood.pk
    report = saved_report_create(
        neighbourhood=world.a.neighbourhood, name="无人", conditions={"age_min": 120}, by=None
    )
    client.get(reverse("registry:report_detail_export", args=[report.pk]))
    empty = AuditEvent.objects.filter(action="registry_exported").latest("pk")
    assert (empty.neighbourhood_id, empty.params["rows"]) == (world.a.neighbourhood.pk, 0)
