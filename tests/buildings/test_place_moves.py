"""Moving an estate or a building carries every registered place-bound row along.

``BUILDERS`` makes one row of every registered place-bound model under world A's
building; a model registered without a builder fails these tests, so a new
place-bound model cannot be left out of the moves unnoticed.
"""

from __future__ import annotations

import datetime
from functools import cached_property

import pytest
from django.core import checks
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models
from django.test.utils import CaptureQueriesContext, isolate_apps
from django.urls import reverse
from django.utils import timezone

from buildings import placebound
from buildings.models import Building, Dwelling, Elevator, ElevatorInspection, Estate
from buildings.placebound import (
    BUILDING,
    ESTATE,
    NEIGHBOURHOOD,
    PlaceBound,
    place_bound_models,
    register_place_bound,
)
from buildings.services import building_move, estate_move
from buildings.signals import place_moved
from core.models import AuditEvent
from issues.models import Issue
from residents import events
from residents.models import (
    AccessEvent,
    Household,
    HouseholdCode,
    Resident,
    SavedReport,
    VisitorDeclaration,
    WellbeingAlert,
)
from residents.selectors import households_visible_to, residents_visible_to
from residents.services import household_code_issue, saved_report_create, visitor_declare
from tests.factories import (
    BuildingFactory,
    DwellingFactory,
    EstateFactory,
    HouseholdFactory,
    ResidentFactory,
    make_id_number,
)
from tests.issues.factories import IssueFactory


class Rows:
    """World A's rows, made on first use (a builder may use another's row)."""

    def __init__(self, world):
        self.world = world
        self.side = world.a

    @cached_property
    def household(self):
        return HouseholdFactory(dwelling=self.side.dwelling)

    @cached_property
    def resident(self):
        return ResidentFactory(household=self.household, name="搬家人")

    @cached_property
    def visitor(self):
        today = timezone.localdate()
        return visitor_declare(
            household=self.household,
            name="访客",
            id_number=make_id_number(8801),
            phone="13900008801",
            arrives_on=today,
            leaves_on=today + datetime.timedelta(days=3),
            reason="探亲",
        )

    @cached_property
    def household_code(self):
        household_code_issue(household=self.household, by=self.side.cadre)
        return HouseholdCode.objects.get(household=self.household)

    @cached_property
    def access_events(self):
        now = timezone.now()
        by_resident = AccessEvent.objects.create(
            resident=self.resident, neighbourhood_id=self.side.neighbourhood.pk, occurred_at=now
        )
        by_dwelling = AccessEvent.objects.create(
            dwelling=self.side.dwelling,
            neighbourhood_id=self.side.neighbourhood.pk,
            occurred_at=now,
        )
        return [by_resident, by_dwelling]

    @cached_property
    def alert(self):
        return WellbeingAlert.objects.create(
            resident=self.resident,
            neighbourhood_id=self.side.neighbourhood.pk,
            last_seen_at=timezone.now() - datetime.timedelta(days=3),
        )

    @cached_property
    def issue(self):
        return IssueFactory(building=self.side.building, description="楼道灯坏了")

    @cached_property
    def report(self):
        return saved_report_create(
            neighbourhood=self.side.neighbourhood,
            name="搬迁测试",
            conditions={"lives_alone": True},
            by=self.side.cadre,
        )


# model -> the rows of that model under world A's building
BUILDERS = {
    Building: lambda rows: [rows.side.building],
    Dwelling: lambda rows: [rows.side.dwelling],
    Elevator: lambda rows: [rows.side.elevator],
    ElevatorInspection: lambda rows: [rows.side.inspection],
    Household: lambda rows: [rows.household],
    Resident: lambda rows: [rows.resident],
    VisitorDeclaration: lambda rows: [rows.visitor],
    HouseholdCode: lambda rows: [rows.household_code],
    AccessEvent: lambda rows: rows.access_events,
    WellbeingAlert: lambda rows: [rows.alert],
    SavedReport: lambda rows: [rows.report],
    Issue: lambda rows: [rows.issue],
}
# Bound to the neighbourhood itself, not to a place under it: a move leaves these.
STAY_IN_THEIR_NEIGHBOURHOOD = {SavedReport}
HISTORY = (Household, Resident, Dwelling)


def build_every_place_bound_row(world) -> dict[type, list]:
    missing = set(place_bound_models()) - set(BUILDERS)
    assert not missing, f"add a builder to BUILDERS for {sorted(m.__name__ for m in missing)}"
    rows = Rows(world)
    built = {model: BUILDERS[model](rows) for model in place_bound_models()}
    for model, instances in built.items():
        assert instances and all(isinstance(i, model) and i.pk for i in instances), model
        for instance in instances:
            assert _ids(instance)[NEIGHBOURHOOD] == world.a.neighbourhood.pk, model
    return built


def _ids(instance) -> dict[str, int]:
    row = type(instance)._base_manager.get(pk=instance.pk)
    values = {level: getattr(row, f"{level}_id") for level in row.place_levels()}
    if type(instance).place_self == BUILDING:
        values[BUILDING] = row.pk
    return values


def _history_count(model) -> int:
    return model.history.count()


@pytest.fixture
def moves():
    received = []

    def receiver(sender, **kwargs):
        received.append((sender, kwargs))

    place_moved.connect(receiver)
    yield received
    place_moved.disconnect(receiver)


def test_every_registered_model_has_a_builder_and_inherits_the_base():
    registered = set(place_bound_models())
    assert registered == set(BUILDERS)
    assert all(issubclass(model, PlaceBound) for model in registered)


# --- moving an estate ------------------------------------------------------------------------


def test_moving_an_estate_carries_every_registered_model(world, superuser, moves):
    built = build_every_place_bound_row(world)
    estate, a, b = world.a.estate, world.a.neighbourhood, world.b.neighbourhood
    events.identity_revealed(actor=world.a.cadre, resident=built[Resident][0], fields=["id"])
    before_audit = set(AuditEvent.objects.values_list("pk", "neighbourhood_id"))
    history_before = {model: _history_count(model) for model in HISTORY}
    assert residents_visible_to(user=world.a.cadre).filter(pk=built[Resident][0].pk).exists()

    result = estate_move(estate=estate, neighbourhood=b, by=superuser)

    assert estate.neighbourhood == b
    assert Estate.objects.get(pk=estate.pk).neighbourhood_id == b.pk
    for model, instances in built.items():
        for instance in instances:
            ids = _ids(instance)
            expected = a.pk if model in STAY_IN_THEIR_NEIGHBOURHOOD else b.pk
            assert ids[NEIGHBOURHOOD] == expected, model
            if ESTATE in ids:
                assert ids[ESTATE] == estate.pk, model  # the estate itself did not change
            if BUILDING in ids:
                assert ids[BUILDING] == world.a.building.pk, model
    assert result.rows["residents.Resident"] == 1

    # who sees what: cadre B now, cadre A no longer
    resident, household = built[Resident][0], built[Household][0]
    assert residents_visible_to(user=world.b.cadre).filter(pk=resident.pk).exists()
    assert not residents_visible_to(user=world.a.cadre).filter(pk=resident.pk).exists()
    assert households_visible_to(user=world.b.cadre).filter(pk=household.pk).exists()
    assert not households_visible_to(user=world.a.cadre).filter(pk=household.pk).exists()

    # the move shows in the change history of every moved row
    for model in HISTORY:
        instance = built[model][0]
        assert _history_count(model) == history_before[model] + 1
        record = model.history.filter(id=instance.pk).latest("history_id")
        assert record.history_type == "~"
        assert record.neighbourhood_id == b.pk
        assert record.history_user == superuser
        assert estate.name in record.history_change_reason

    # audit rows are not rewritten; the move itself is recorded in both neighbourhoods
    assert before_audit <= set(AuditEvent.objects.values_list("pk", "neighbourhood_id"))
    moved_events = AuditEvent.objects.filter(action="estate_moved")
    assert sorted(moved_events.values_list("neighbourhood_id", flat=True)) == sorted([a.pk, b.pk])

    assert len(moves) == 1
    sender, kwargs = moves[0]
    assert sender is Estate and kwargs["place"] == estate and kwargs["by"] == superuser
    assert kwargs["old"] == {"neighbourhood_id": a.pk}
    assert kwargs["new"] == {"neighbourhood_id": b.pk}


def _move_queries(estate, neighbourhood) -> int:
    with CaptureQueriesContext(connection) as captured:
        estate_move(estate=estate, neighbourhood=neighbourhood)
    return len(captured.captured_queries)


def test_updates_are_in_bulk_not_row_by_row(world):
    build_every_place_bound_row(world)
    small = _move_queries(world.a.estate, world.b.neighbourhood)
    big = EstateFactory(neighbourhood=world.a.neighbourhood, name="大花园")
    for number in ("1号楼", "2号楼", "3号楼"):
        building = BuildingFactory(estate=big, number=number)
        for room in ("101", "102", "201"):
            household = HouseholdFactory(dwelling=DwellingFactory(building=building, room=room))
            ResidentFactory(household=household)
            ResidentFactory(household=household, relation="child")
    assert Resident.objects.filter(estate=big).count() == 18
    assert _move_queries(big, world.b.neighbourhood) == small  # more rows, no more queries


def test_saving_an_estate_in_another_neighbourhood_moves_nothing_below(world):
    """Estate.save has no side effects: a move goes through estate_move."""
    estate = world.a.estate
    estate.neighbourhood = world.b.neighbourhood
    estate.save()
    assert Dwelling.objects.get(pk=world.a.dwelling.pk).neighbourhood_id == world.a.neighbourhood.pk


def test_a_move_needs_both_neighbourhoods_and_a_free_name(world):
    built = build_every_place_bound_row(world)
    with pytest.raises(PermissionDenied):
        estate_move(estate=world.a.estate, neighbourhood=world.b.neighbourhood, by=world.a.cadre)
    EstateFactory(neighbourhood=world.b.neighbourhood, name=world.a.estate.name)
    with pytest.raises(ValidationError):
        estate_move(estate=world.a.estate, neighbourhood=world.b.neighbourhood)
    assert _ids(built[Resident][0])[NEIGHBOURHOOD] == world.a.neighbourhood.pk
    assert not AuditEvent.objects.filter(action="estate_moved").exists()


# --- moving a building -----------------------------------------------------------------------


def test_moving_a_building_carries_every_registered_model(world, superuser, moves):
    built = build_every_place_bound_row(world)
    building, a = world.a.building, world.a.neighbourhood
    target = EstateFactory(neighbourhood=world.b.neighbourhood, name="丙花园")
    history_before = {model: _history_count(model) for model in HISTORY}

    building_move(building=building, estate=target, by=superuser)

    assert building.estate == target
    for model, instances in built.items():
        for instance in instances:
            ids = _ids(instance)
            if model in STAY_IN_THEIR_NEIGHBOURHOOD:
                assert ids[NEIGHBOURHOOD] == a.pk, model
                continue
            assert ids[NEIGHBOURHOOD] == world.b.neighbourhood.pk, model
            if ESTATE in ids:
                assert ids[ESTATE] == target.pk, model
            if BUILDING in ids:
                assert ids[BUILDING] == building.pk, model
    # rows reached through a parent follow it in scoping too
    code = built[HouseholdCode][0]
    assert HouseholdCode.place_q(ESTATE, [target.pk]) is not None
    assert HouseholdCode.objects.filter(HouseholdCode.place_q(ESTATE, [target.pk]), pk=code.pk)
    resident = built[Resident][0]
    assert residents_visible_to(user=world.b.cadre).filter(pk=resident.pk).exists()
    assert not residents_visible_to(user=world.a.cadre).filter(pk=resident.pk).exists()
    for model in HISTORY:
        assert _history_count(model) == history_before[model] + 1
        record = model.history.filter(id=built[model][0].pk).latest("history_id")
        assert record.estate_id == target.pk and record.history_type == "~"
    assert len(moves) == 1 and moves[0][0] is Building
    assert moves[0][1]["new"] == {
        "neighbourhood_id": world.b.neighbourhood.pk,
        "estate_id": target.pk,
    }


def test_a_building_number_taken_in_the_new_estate_is_refused(world):
    assert world.b.building.number == world.a.building.number  # both are 1号楼
    with pytest.raises(ValidationError):
        building_move(building=world.a.building, estate=world.b.estate)
    assert Dwelling.objects.get(pk=world.a.dwelling.pk).estate_id == world.a.estate.pk
    assert Building.objects.get(pk=world.a.building.pk).estate_id == world.a.estate.pk


# --- the admin moves through the service -----------------------------------------------------


def _estate_form(estate, neighbourhood):
    return {
        "neighbourhood": neighbourhood.pk,
        "name": estate.name,
        "address": "新地址 1 号",
        "buildings-TOTAL_FORMS": 0,
        "buildings-INITIAL_FORMS": 0,
    }


def test_an_admin_change_of_an_estates_neighbourhood_moves_everything(world, superuser, login):
    built = build_every_place_bound_row(world)
    client = login(superuser)
    estate = world.a.estate
    response = client.post(
        reverse("admin:buildings_estate_change", args=[estate.pk]),
        _estate_form(estate, world.b.neighbourhood),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    estate.refresh_from_db()
    assert estate.neighbourhood_id == world.b.neighbourhood.pk
    assert estate.address == "新地址 1 号"  # the other fields are saved too
    for model, instances in built.items():
        expected = world.a if model in STAY_IN_THEIR_NEIGHBOURHOOD else world.b
        for instance in instances:
            assert _ids(instance)[NEIGHBOURHOOD] == expected.neighbourhood.pk, model
    record = Resident.history.filter(id=built[Resident][0].pk).latest("history_id")
    assert record.neighbourhood_id == world.b.neighbourhood.pk
    assert record.history_user == superuser


def test_an_admin_change_of_a_buildings_estate_moves_everything(world, superuser, login):
    built = build_every_place_bound_row(world)
    client = login(superuser)
    building = world.a.building
    response = client.post(
        reverse("admin:buildings_building_change", args=[building.pk]),
        {
            "estate": world.b.estate.pk,
            "number": building.number + "A",
            "floors": 7,
            "elevators-TOTAL_FORMS": 0,
            "elevators-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    building.refresh_from_db()
    assert (building.estate_id, building.floors) == (world.b.estate.pk, 7)
    assert _ids(built[Resident][0])[ESTATE] == world.b.estate.pk
    assert _ids(built[ElevatorInspection][0])[NEIGHBOURHOOD] == world.b.neighbourhood.pk


# --- the registry check ------------------------------------------------------------------------


def test_the_project_registers_every_place_bound_model():
    errors = [e for e in checks.run_checks() if e.id and e.id.startswith("buildings.E")]
    assert errors == []


@isolate_apps("buildings")
def test_an_unregistered_place_bound_model_fails_the_check(monkeypatch):
    monkeypatch.setattr(placebound, "_REGISTRY", list(placebound._REGISTRY))

    class Noticeboard(PlaceBound):
        estate = None
        building = None
        title = models.CharField(max_length=20)

        class Meta:
            app_label = "buildings"

    assert Noticeboard.place_levels() == ("district", "subdistrict", NEIGHBOURHOOD)
    assert [e.id for e in Noticeboard.check() if e.id.startswith("buildings.")] == [
        "buildings.E001"
    ]
    register_place_bound(Noticeboard)
    assert [e.id for e in Noticeboard.check() if e.id.startswith("buildings.")] == []
