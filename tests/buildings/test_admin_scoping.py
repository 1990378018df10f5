"""Acceptance matrix for the scoped admin: cadre B never reaches neighbourhood A.

Every scoped admin (estate, building, dwelling, elevator, elevator inspection,
property company, neighbourhood) is checked for: 404 on A's change / delete /
history views, A's rows absent from B's changelist, search, list filters and
add-form choices (or the autocomplete that fills them), and a bulk delete that
cannot touch A's rows. Superusers see both sides.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.db import connection
from django.http import Http404
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import role_grant
from buildings.models import (
    Building,
    Dwelling,
    Elevator,
    ElevatorInspection,
    Estate,
    Neighbourhood,
    PropertyCompany,
    add_years,
)
from buildings.services import elevator_inspection_record
from core.admin_scoping import ScopedModelAdmin, ScopedTabularInline
from tests.factories import (
    BuildingFactory,
    DwellingFactory,
    ElevatorFactory,
    ElevatorInspectionFactory,
    EstateFactory,
    NeighbourhoodFactory,
    PropertyCompanyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

A_NAMES = ("甲居民区", "甲花园", "甲物业有限公司")


@dataclass(frozen=True)
class Case:
    model_name: str
    get: Callable  # side -> the side's object
    search: str  # a term that matches both sides' objects
    cadre_deletes: bool = False
    fresh: Callable | None = None  # side -> a new object with nothing protecting it

    def __str__(self):
        return self.model_name


CASES = [
    Case(
        "estate",
        lambda s: s.estate,
        "花园",
        cadre_deletes=True,
        fresh=lambda s: EstateFactory(neighbourhood=s.neighbourhood, property_company=s.company),
    ),
    Case(
        "building",
        lambda s: s.building,
        "花园",
        cadre_deletes=True,
        fresh=lambda s: BuildingFactory(estate=s.estate, number="99号楼"),
    ),
    Case(
        "dwelling",
        lambda s: s.dwelling,
        "花园",
        cadre_deletes=True,
        fresh=lambda s: DwellingFactory(building=s.building, room="909"),
    ),
    Case(
        "elevator",
        lambda s: s.elevator,
        "花园",
        cadre_deletes=True,
        fresh=lambda s: ElevatorFactory(building=s.building),
    ),
    Case("elevatorinspection", lambda s: s.inspection, "花园"),
    Case("propertycompany", lambda s: s.company, "物业有限公司"),
    Case("neighbourhood", lambda s: s.neighbourhood, "居民区"),
]


def url(model_name, view, *args, query=""):
    return reverse(f"admin:buildings_{model_name}_{view}", args=args) + query


def change_url(model_name, pk):
    return url(model_name, "change", pk)


def body(response):
    return response.content.decode()


def filter_labels(response) -> set[str]:
    cl = response.context["cl"]
    return {str(choice["display"]) for spec in cl.filter_specs for choice in spec.choices(cl)}


@pytest.fixture
def cadre_b(world, login):
    return login(world.b.cadre)


# --- the matrix ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_other_neighbourhoods_object_is_404(world, cadre_b, case, view):
    obj = case.get(world.a)
    assert cadre_b.get(url(case.model_name, view, obj.pk)).status_code == 404
    # while their own object opens (or is refused for lack of the delete right)
    own = case.get(world.b)
    expected = 403 if view == "delete" and not case.cadre_deletes else 200
    assert cadre_b.get(url(case.model_name, view, own.pk)).status_code == expected


@pytest.mark.parametrize("case", CASES, ids=str)
def test_posting_to_other_neighbourhoods_object_is_404_and_changes_nothing(world, cadre_b, case):
    obj = case.get(world.a)
    model = type(obj)
    before = model.objects.filter(pk=obj.pk).values().get()
    assert cadre_b.post(url(case.model_name, "change", obj.pk), {}).status_code == 404
    assert cadre_b.post(url(case.model_name, "delete", obj.pk), {"post": "yes"}).status_code == 404
    assert model.objects.filter(pk=obj.pk).values().get() == before


@pytest.mark.parametrize("case", CASES, ids=str)
def test_changelist_shows_only_own_neighbourhood(world, cadre_b, case):
    response = cadre_b.get(url(case.model_name, "changelist"))
    assert response.status_code == 200
    html = body(response)
    assert change_url(case.model_name, case.get(world.b).pk) in html
    assert change_url(case.model_name, case.get(world.a).pk) not in html
    for name in A_NAMES:
        assert name not in html


@pytest.mark.parametrize("case", CASES, ids=str)
def test_search_never_finds_other_neighbourhoods_rows(world, cadre_b, case):
    response = cadre_b.get(url(case.model_name, "changelist"), {"q": case.search})
    html = body(response)
    assert change_url(case.model_name, case.get(world.b).pk) in html
    assert change_url(case.model_name, case.get(world.a).pk) not in html
    # searching by A's own name finds nothing at all
    response = cadre_b.get(url(case.model_name, "changelist"), {"q": "甲"})
    assert response.context["cl"].result_count == 0


@pytest.mark.parametrize("case", CASES, ids=str)
def test_list_filters_offer_only_own_places(world, cadre_b, case):
    # A second neighbourhood for cadre B, so that every filter has choices to show.
    third = NeighbourhoodFactory(subdistrict=world.subdistrict, name="丙居民区")
    company = PropertyCompanyFactory(name="丙物业有限公司")
    estate = EstateFactory(neighbourhood=third, name="丙花园", property_company=company)
    ElevatorInspectionFactory(
        elevator=ElevatorFactory(
            building=DwellingFactory(building=BuildingFactory(estate=estate)).building
        )
    )
    role_grant(user=world.b.cadre, role=Role.CADRE, place=third)

    labels = filter_labels(cadre_b.get(url(case.model_name, "changelist")))
    assert not set(A_NAMES) & labels
    if case.model_name in ("estate", "building", "dwelling", "elevator", "elevatorinspection"):
        assert {"乙居民区", "丙居民区"} <= labels
    if case.model_name in ("building", "dwelling", "elevator", "elevatorinspection"):
        assert {"乙花园", "丙花园"} <= labels
    if case.model_name == "estate":
        assert {"乙物业有限公司", "丙物业有限公司"} <= labels


@pytest.mark.parametrize(
    "model_name, present",
    [
        ("estate", ["乙居民区", "乙物业有限公司"]),
        ("building", ["乙花园"]),
        ("dwelling", []),
        ("elevator", []),
        ("elevatorinspection", []),
        ("propertycompany", []),
    ],
)
def test_add_form_choices_are_scoped(world, cadre_b, model_name, present):
    response = cadre_b.get(url(model_name, "add"))
    assert response.status_code == 200
    html = body(response)
    for name in A_NAMES:
        assert name not in html
    for name in present:
        assert name in html


@pytest.mark.parametrize(
    "model_name, field_name, side_object",
    [
        ("dwelling", "building", lambda s: s.building),
        ("elevator", "building", lambda s: s.building),
        ("elevatorinspection", "elevator", lambda s: s.elevator),
    ],
)
def test_autocomplete_choices_are_scoped(world, cadre_b, model_name, field_name, side_object):
    response = cadre_b.get(
        reverse("admin:autocomplete"),
        {"app_label": "buildings", "model_name": model_name, "field_name": field_name},
    )
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert str(side_object(world.b).pk) in ids
    assert str(side_object(world.a).pk) not in ids


def test_add_form_refuses_a_parent_outside_the_scope(world, cadre_b):
    response = cadre_b.post(
        url("building", "add"),
        {
            "estate": world.a.estate.pk,
            "number": "88号楼",
            "floors": 6,
            "elevators-TOTAL_FORMS": 0,
            "elevators-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200  # the form again, with an error
    assert "estate" in response.context["adminform"].form.errors
    assert not Building.objects.filter(number="88号楼").exists()


def test_moving_an_estate_to_another_neighbourhood_is_refused(world, cadre_b):
    estate = world.b.estate
    response = cadre_b.post(
        url("estate", "change", estate.pk),
        {
            "neighbourhood": world.a.neighbourhood.pk,
            "name": estate.name,
            "buildings-TOTAL_FORMS": 0,
            "buildings-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "neighbourhood" in response.context["adminform"].form.errors
    estate.refresh_from_db()
    assert estate.neighbourhood == world.b.neighbourhood


def test_saved_object_outside_the_scope_is_refused_server_side(world):
    model_admin = admin.site.get_model_admin(Building)
    request = RequestFactory().get("/")
    request.user = world.b.cadre
    model_admin.ensure_in_scope(request, world.b.building)  # fine
    with pytest.raises(Http404):
        model_admin.ensure_in_scope(request, world.a.building)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bulk_delete_never_reaches_other_neighbourhood(world, cadre_b, case):
    if case.fresh:
        theirs, ours = case.fresh(world.a), case.fresh(world.b)
    else:
        theirs, ours = case.get(world.a), case.get(world.b)
    model = type(theirs)
    response = cadre_b.post(
        url(case.model_name, "changelist"),
        {"action": "delete_selected", "_selected_action": [theirs.pk, ours.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert model.objects.filter(pk=theirs.pk).exists()
    assert model.objects.filter(pk=ours.pk).exists() is not case.cadre_deletes


@pytest.mark.parametrize("case", CASES, ids=str)
def test_superuser_sees_both_neighbourhoods(world, superuser, login, case):
    client = login(superuser)
    html = body(client.get(url(case.model_name, "changelist")))
    assert change_url(case.model_name, case.get(world.a).pk) in html
    assert change_url(case.model_name, case.get(world.b).pk) in html
    assert client.get(url(case.model_name, "change", case.get(world.a).pk)).status_code == 200


# --- query counts do not grow with the page -----------------------------------------


def _grow(model_name, subdistrict, n):
    for _i in range(n):
        neighbourhood = NeighbourhoodFactory(subdistrict=subdistrict)
        estate = EstateFactory(neighbourhood=neighbourhood)
        building = BuildingFactory(estate=estate)
        if model_name == "dwelling":
            DwellingFactory(building=building)
        elif model_name == "elevator":
            ElevatorFactory(
                building=building,
                next_inspection_due=timezone.localdate() + datetime.timedelta(days=_i - 5),
            )
        elif model_name == "elevatorinspection":
            ElevatorInspectionFactory(
                elevator=ElevatorFactory(building=building), recorded_by=UserFactory()
            )


@pytest.mark.parametrize(
    "model_name",
    [
        "estate",
        "building",
        "dwelling",
        "elevator",
        "elevatorinspection",
        "propertycompany",
        "neighbourhood",
    ],
)
def test_changelist_query_count_does_not_grow_with_rows(
    world, login, django_assert_max_num_queries, model_name
):
    wide_cadre = UserFactory()
    role_grant(user=wide_cadre, role=Role.CADRE, place=world.subdistrict)
    client = login(wide_cadre)
    changelist = url(model_name, "changelist")
    _grow(model_name, world.subdistrict, 3)
    client.get(changelist)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        small = client.get(changelist)
    few_count = len(few.captured_queries)  # now: the query log is a bounded deque
    _grow(model_name, world.subdistrict, 27)
    client.get(changelist)  # new neighbourhoods under the grant: the scope is resolved anew
    with django_assert_max_num_queries(few_count):
        big = client.get(changelist)
    assert big.context["cl"].result_count >= small.context["cl"].result_count + 27


# --- Chinese name and building number search -----------------------------------------


def _search(client, model_name, term):
    response = client.get(url(model_name, "changelist"), {"q": term})
    return set(response.context["cl"].result_list)


def test_estate_search_by_part_of_its_chinese_name(world, cadre_b):
    other = EstateFactory(neighbourhood=world.b.neighbourhood, name="阳光新村")
    assert _search(cadre_b, "estate", "阳光") == {other}
    assert _search(cadre_b, "estate", "乙花") == {world.b.estate}


@pytest.mark.parametrize("term", ["12", "12号楼", "１２号楼", "12号", "12幢"])
def test_building_search_by_number(world, cadre_b, term):
    estate = world.b.estate
    twelve = BuildingFactory(estate=estate, number="12号楼")
    unit = BuildingFactory(estate=estate, number="12号楼2单元")
    BuildingFactory(estate=estate, number="112号楼")
    BuildingFactory(estate=estate, number="120号楼")
    BuildingFactory(estate=world.a.estate, number="12号楼")  # other neighbourhood
    assert _search(cadre_b, "building", term) == {twelve, unit}


def test_building_search_by_estate_name_and_number(world, cadre_b):
    twelve = BuildingFactory(estate=world.b.estate, number="12号楼")
    elsewhere = EstateFactory(neighbourhood=world.b.neighbourhood, name="阳光新村")
    BuildingFactory(estate=elsewhere, number="12号楼")
    assert _search(cadre_b, "building", "乙花园 12号楼") == {twelve}


def test_dwelling_search_by_building_number_and_room(world, cadre_b):
    twelve = BuildingFactory(estate=world.b.estate, number="12号楼")
    flat = DwellingFactory(building=twelve, room="1203")
    DwellingFactory(building=twelve, room="1204")
    DwellingFactory(building=BuildingFactory(estate=world.b.estate, number="3号楼"), room="1203")
    assert _search(cadre_b, "dwelling", "12号楼 1203") == {flat}
    assert len(_search(cadre_b, "dwelling", "1203")) == 2  # digits alone are a room


def test_elevator_search_by_building_number(world, cadre_b):
    twelve = BuildingFactory(estate=world.b.estate, number="12号楼")
    lift = ElevatorFactory(building=twelve)
    assert _search(cadre_b, "elevator", "12号楼") == {lift}
    assert _search(cadre_b, "elevator", lift.device_code) == {lift}


# --- permissions -------------------------------------------------------------------------


def test_cadre_admin_index_lists_their_models_not_the_tree_above(world, cadre_b):
    html = body(cadre_b.get(reverse("admin:index")))
    for model_name in ("estate", "building", "dwelling", "elevator", "neighbourhood"):
        assert url(model_name, "changelist") in html
    for model_name in ("district", "subdistrict", "area"):
        assert url(model_name, "changelist") not in html
    assert reverse("admin:accounts_user_changelist") not in html


@pytest.mark.parametrize("model_name", ["district", "subdistrict", "area"])
def test_tree_above_the_neighbourhood_is_superuser_only(world, cadre_b, model_name):
    assert cadre_b.get(url(model_name, "changelist")).status_code == 403


def test_staff_without_a_manage_grant_see_no_places(world, login):
    staff = UserFactory()
    role_grant(user=staff, role=Role.PROPERTY_STAFF, place=world.a.estate)
    client = login(staff)
    assert client.get(url("estate", "changelist")).status_code == 403
    assert client.get(url("estate", "change", world.a.estate.pk)).status_code == 404
    assert url("estate", "changelist") not in body(client.get(reverse("admin:index")))


def test_cadre_edits_committee_contacts_but_not_the_tree(world, cadre_b):
    neighbourhood = world.b.neighbourhood
    response = cadre_b.post(
        url("neighbourhood", "change", neighbourhood.pk),
        {"name": "改名居民区", "address": "友谊路1号", "phone": "021-12345678"},
    )
    assert response.status_code == 302
    neighbourhood.refresh_from_db()
    assert (neighbourhood.name, neighbourhood.phone) == ("乙居民区", "021-12345678")
    assert cadre_b.get(url("neighbourhood", "add")).status_code == 403
    assert Neighbourhood.objects.count() == 2


def test_cadre_adds_a_company_and_assigns_it_to_their_estate(world, cadre_b):
    response = cadre_b.post(url("propertycompany", "add"), {"name": "新物业管理有限公司"})
    assert response.status_code == 302
    company = PropertyCompany.objects.get(name="新物业管理有限公司")
    # visible while it serves no estate, so it can be picked for one
    assert change_url("propertycompany", company.pk) in body(
        cadre_b.get(url("propertycompany", "changelist"))
    )
    assert "新物业管理有限公司" in body(cadre_b.get(url("estate", "add")))
    # but cadres do not delete companies (they may serve other neighbourhoods)
    assert cadre_b.get(url("propertycompany", "delete", company.pk)).status_code == 403


def test_a_company_serving_only_other_neighbourhoods_stays_hidden(world, cadre_b):
    company = PropertyCompanyFactory(name="丙物业有限公司")
    EstateFactory(neighbourhood=world.a.neighbourhood, property_company=company)
    assert cadre_b.get(url("propertycompany", "change", company.pk)).status_code == 404


def test_estate_inline_lists_only_its_buildings(world, cadre_b):
    extra = BuildingFactory(estate=world.b.estate, number="7号楼")
    html = body(cadre_b.get(url("estate", "change", world.b.estate.pk)))
    assert "7号楼" in html and change_url("building", extra.pk) in html
    assert change_url("building", world.a.building.pk) not in html


def test_cadre_adds_building_in_their_estate(world, cadre_b):
    response = cadre_b.post(
        url("building", "add"),
        {
            "estate": world.b.estate.pk,
            "number": "8号楼",
            "floors": 18,
            "elevators-TOTAL_FORMS": 1,
            "elevators-INITIAL_FORMS": 0,
            "elevators-0-device_code": "31NEW0001",
            "elevators-0-status": Elevator.Status.IN_SERVICE,
        },
    )
    assert response.status_code == 302
    building = Building.objects.get(number="8号楼")
    assert building.neighbourhood == world.b.neighbourhood
    assert building.elevators.get().neighbourhood == world.b.neighbourhood


def test_subclass_overriding_get_queryset_is_refused():
    with pytest.raises(TypeError, match="safely_get_queryset"):

        class Leaky(ScopedModelAdmin):
            def get_queryset(self, request):
                return Estate.objects.all()

    class Mixin:
        def get_queryset(self, request):
            return Estate.objects.all()

    with pytest.raises(TypeError):

        class LeakyThroughMixin(Mixin, ScopedModelAdmin):
            pass

    with pytest.raises(TypeError):

        class LeakyInline(ScopedTabularInline):
            model = Building

            def get_queryset(self, request):
                return Building.objects.all()

    class Fine(ScopedModelAdmin):
        def safely_get_queryset(self, request):
            return super().safely_get_queryset(request).select_related("neighbourhood")

    assert Fine.get_queryset is ScopedModelAdmin.get_queryset


def test_unscoped_model_cannot_get_a_scoped_admin():
    from django.core.exceptions import ImproperlyConfigured

    from accounts.models import RoleAssignment

    with pytest.raises(ImproperlyConfigured):
        ScopedModelAdmin(RoleAssignment, admin.site)


# --- elevators and inspections ----------------------------------------------------------


def test_elevator_list_filters_by_inspection_due(world, cadre_b):
    today = timezone.localdate()
    building = world.b.building
    overdue = ElevatorFactory(building=building, next_inspection_due=today - datetime.timedelta(1))
    week = ElevatorFactory(building=building, next_inspection_due=today + datetime.timedelta(5))
    month = ElevatorFactory(building=building, next_inspection_due=today + datetime.timedelta(20))
    ElevatorFactory(building=world.a.building, next_inspection_due=today)  # not B's
    changelist = url("elevator", "changelist")

    def listed(value):
        response = cadre_b.get(changelist, {"inspection_due": value})
        return set(response.context["cl"].result_list)

    assert listed("overdue") == {overdue}
    assert listed("7") == {week}
    assert listed("30") == {week, month}
    html = body(cadre_b.get(changelist))
    assert html.count("linli-due-overdue") == 1
    assert html.count("linli-due-soon") == 2


def test_recording_an_inspection_in_admin_goes_through_the_service(world, cadre_b):
    elevator = world.b.elevator
    day = timezone.localdate() - datetime.timedelta(days=3)
    response = cadre_b.post(
        url("elevatorinspection", "add"),
        {
            "elevator": elevator.pk,
            "inspected_on": day.isoformat(),
            "result": ElevatorInspection.Result.PASSED,
            "agency": "上海市特种设备监督检验技术研究院",
            "certificate_number": "NJ-2025-001",
        },
    )
    assert response.status_code == 302
    inspection = ElevatorInspection.objects.get(certificate_number="NJ-2025-001")
    assert inspection.recorded_by == world.b.cadre
    assert inspection.neighbourhood == world.b.neighbourhood
    elevator.refresh_from_db()
    assert elevator.last_inspection == day
    assert elevator.next_inspection_due == add_years(day)


@pytest.mark.parametrize(
    "day, message_code",
    [
        (lambda e: timezone.localdate() + datetime.timedelta(days=1), "future"),
        (lambda e: e.inspections.get().inspected_on, "duplicate_day"),
    ],
)
def test_inspection_form_shows_the_services_errors(world, cadre_b, day, message_code):
    elevator = world.b.elevator
    response = cadre_b.post(
        url("elevatorinspection", "add"),
        {
            "elevator": elevator.pk,
            "inspected_on": day(elevator).isoformat(),
            "result": ElevatorInspection.Result.PASSED,
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert [e.code for e in errors["inspected_on"]] == [message_code]
    assert elevator.inspections.count() == 1


def test_inspection_change_edits_only_free_text(world, cadre_b):
    inspection = world.b.inspection
    original_day = inspection.inspected_on
    response = cadre_b.post(
        url("elevatorinspection", "change", inspection.pk),
        {
            "inspected_on": "2001-01-01",
            "result": ElevatorInspection.Result.FAILED,
            "agency": "新机构",
            "certificate_number": "C-9",
            "notes": "更正",
        },
    )
    assert response.status_code == 302
    inspection.refresh_from_db()
    assert (inspection.inspected_on, inspection.result) == (
        original_day,
        ElevatorInspection.Result.PASSED,
    )
    assert (inspection.agency, inspection.certificate_number) == ("新机构", "C-9")


def test_superuser_deleting_the_latest_inspection_restores_the_dates(world, superuser, login):
    elevator = world.b.elevator
    older = world.b.inspection.inspected_on
    assert elevator.last_inspection == older
    latest = elevator_inspection_record(
        elevator=elevator,
        inspected_on=timezone.localdate() - datetime.timedelta(days=2),
        result=ElevatorInspection.Result.PASSED,
    )
    assert elevator.last_inspection == latest.inspected_on
    client = login(superuser)
    response = client.post(url("elevatorinspection", "delete", latest.pk), {"post": "yes"})
    assert response.status_code == 302
    elevator.refresh_from_db()
    assert elevator.last_inspection == older
    assert elevator.next_inspection_due == add_years(older)


def test_dwelling_owners_accept_any_active_account_and_show_masked(world, cadre_b):
    owner = UserFactory(name="王业主", phone="13912345678")
    dwelling = world.b.dwelling
    response = cadre_b.post(
        url("dwelling", "change", dwelling.pk),
        {"room": dwelling.room, "floor": 1, "floor_area": "72.50", "owners": str(owner.pk)},
    )
    assert response.status_code == 302
    assert list(dwelling.owners.all()) == [owner]
    html = body(cadre_b.get(url("dwelling", "change", dwelling.pk)))
    assert "王业主 (139****5678)" in html
    assert Dwelling.objects.get(pk=dwelling.pk).building == world.b.building
