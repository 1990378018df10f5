"""Elevator inspections (电梯年检) and the place selectors."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from buildings.models import Building, Elevator, ElevatorInspection, Estate, add_years
from buildings.permissions import MANAGE
from buildings.selectors import access_place, building_number_q, elevators_due
from buildings.services import elevator_inspection_delete, elevator_inspection_record
from tests.factories import BuildingFactory, ElevatorFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSED = ElevatorInspection.Result.PASSED
FAILED = ElevatorInspection.Result.FAILED
TODAY = timezone.localdate


def days_ago(n):
    return TODAY() - datetime.timedelta(days=n)


@pytest.fixture
def elevator(world):
    """An elevator with no inspection recorded yet, last inspected a year ago."""
    return ElevatorFactory(
        building=world.a.building,
        last_inspection=days_ago(360),
        next_inspection_due=days_ago(360) + datetime.timedelta(days=365),
    )


def record(elevator, day, result=PASSED, **kwargs):
    return elevator_inspection_record(elevator=elevator, inspected_on=day, result=result, **kwargs)


def test_passing_inspection_moves_the_due_date_a_year_on(elevator):
    cadre = UserFactory()
    day = days_ago(5)
    inspection = record(elevator, day, agency="特检院", certificate_number="C-1", recorded_by=cadre)
    elevator.refresh_from_db()
    assert elevator.last_inspection == day
    assert elevator.next_inspection_due == add_years(day, 1)
    assert (elevator.next_inspection_due - day).days in (365, 366)
    assert inspection.neighbourhood_id == elevator.neighbourhood_id
    assert (inspection.recorded_by, inspection.certificate_number) == (cadre, "C-1")


def test_passed_with_rectifications_counts_as_passing(elevator):
    day = days_ago(3)
    record(elevator, day, ElevatorInspection.Result.PASSED_WITH_NOTES)
    elevator.refresh_from_db()
    assert elevator.last_inspection == day


def test_caller_instance_is_kept_in_step(elevator):
    day = days_ago(2)
    record(elevator, day)
    assert elevator.last_inspection == day  # without refresh_from_db


def test_29_february_is_due_on_28_february_next_year(world):
    elevator = ElevatorFactory(building=world.a.building, last_inspection=None)
    record(elevator, datetime.date(2024, 2, 29))
    elevator.refresh_from_db()
    assert elevator.last_inspection == datetime.date(2024, 2, 29)
    assert elevator.next_inspection_due == datetime.date(2025, 2, 28)


def test_an_older_inspection_recorded_late_does_not_move_dates_back(elevator):
    recent, older = days_ago(10), days_ago(40)
    record(elevator, recent)
    record(elevator, older)
    elevator.refresh_from_db()
    assert elevator.last_inspection == recent
    assert elevator.next_inspection_due.year == recent.year + 1
    assert elevator.inspections.count() == 2


def test_an_inspection_older_than_the_date_entered_by_hand_does_not_move_dates(elevator):
    before = (elevator.last_inspection, elevator.next_inspection_due)
    record(elevator, days_ago(500))
    elevator.refresh_from_db()
    assert (elevator.last_inspection, elevator.next_inspection_due) == before


def test_failed_inspection_keeps_the_due_date_and_stops_the_elevator(elevator):
    before = (elevator.last_inspection, elevator.next_inspection_due)
    record(elevator, days_ago(4), FAILED)
    elevator.refresh_from_db()
    assert (elevator.last_inspection, elevator.next_inspection_due) == before
    assert elevator.status == Elevator.Status.OUT_OF_SERVICE


def test_passing_reinspection_after_a_failure_puts_it_back_in_service(elevator):
    record(elevator, days_ago(10), FAILED)
    record(elevator, days_ago(2))
    elevator.refresh_from_db()
    assert elevator.status == Elevator.Status.IN_SERVICE
    assert elevator.last_inspection == days_ago(2)


def test_an_old_failure_recorded_late_changes_no_status(elevator):
    record(elevator, days_ago(2))
    record(elevator, days_ago(30), FAILED)
    elevator.refresh_from_db()
    assert elevator.status == Elevator.Status.IN_SERVICE
    assert elevator.last_inspection == days_ago(2)


def test_a_pass_older_than_a_recorded_failure_moves_dates_but_not_status(elevator):
    record(elevator, days_ago(2), FAILED)
    record(elevator, days_ago(20))
    elevator.refresh_from_db()
    assert elevator.status == Elevator.Status.OUT_OF_SERVICE
    assert elevator.last_inspection == days_ago(20)


def test_maintenance_status_is_left_to_people(elevator):
    elevator.status = Elevator.Status.UNDER_MAINTENANCE
    elevator.save()
    record(elevator, days_ago(1))
    elevator.refresh_from_db()
    assert elevator.status == Elevator.Status.UNDER_MAINTENANCE


@pytest.mark.parametrize(
    "day, code",
    [
        (lambda e: TODAY() + datetime.timedelta(days=1), "future"),
        (lambda e: e.installed_on - datetime.timedelta(days=1), "before_installation"),
    ],
)
def test_invalid_dates_are_refused_and_nothing_changes(elevator, day, code):
    elevator.installed_on = days_ago(100)
    elevator.save()
    before = Elevator.objects.filter(pk=elevator.pk).values().get()
    with pytest.raises(ValidationError) as caught:
        record(elevator, day(elevator))
    assert [e.code for e in caught.value.error_dict["inspected_on"]] == [code]
    assert str(caught.value.error_dict["inspected_on"][0].message)  # a message, not a code
    assert not elevator.inspections.exists()
    assert Elevator.objects.filter(pk=elevator.pk).values().get() == before


def test_a_second_inspection_on_the_same_day_is_refused(elevator):
    record(elevator, days_ago(3))
    with pytest.raises(ValidationError) as caught:
        record(elevator, days_ago(3), FAILED)
    assert caught.value.error_dict["inspected_on"][0].code == "duplicate_day"
    assert elevator.inspections.count() == 1
    elevator.refresh_from_db()
    assert elevator.status == Elevator.Status.IN_SERVICE


def test_unknown_result_is_refused(elevator):
    with pytest.raises(ValidationError) as caught:
        record(elevator, days_ago(3), "maybe")
    assert "result" in caught.value.error_dict


def test_deleting_the_latest_pass_falls_back_to_the_previous_one(elevator):
    first = record(elevator, days_ago(400))
    second = record(elevator, days_ago(30))
    elevator_inspection_delete(inspection=second)
    elevator.refresh_from_db()
    assert elevator.last_inspection == first.inspected_on
    assert elevator.next_inspection_due == add_years(first.inspected_on, 1)


def test_deleting_an_older_inspection_leaves_the_dates(elevator):
    old = record(elevator, days_ago(400))
    record(elevator, days_ago(30))
    elevator_inspection_delete(inspection=old)
    elevator.refresh_from_db()
    assert elevator.last_inspection == days_ago(30)


def test_deleting_the_only_pass_clears_the_last_inspection(elevator):
    only = record(elevator, days_ago(30))
    due = Elevator.objects.get(pk=elevator.pk).next_inspection_due
    elevator_inspection_delete(inspection=only)
    elevator.refresh_from_db()
    assert elevator.last_inspection is None
    assert elevator.next_inspection_due == due  # for a person to correct


# --- selectors ----------------------------------------------------------------------


def test_elevators_due_lists_overdue_and_soon_in_scope_soonest_first(world):
    building = world.a.building
    late = ElevatorFactory(building=building, next_inspection_due=days_ago(2))
    soon = ElevatorFactory(building=building, next_inspection_due=TODAY() + datetime.timedelta(9))
    ElevatorFactory(building=building, next_inspection_due=TODAY() + datetime.timedelta(40))
    ElevatorFactory(building=world.b.building, next_inspection_due=days_ago(1))  # B's
    assert list(elevators_due(user=world.a.cadre, within_days=30)) == [late, soon]
    assert list(elevators_due(user=world.a.cadre, within_days=5)) == [late]
    assert list(elevators_due(user=UserFactory(), within_days=30)) == []


def test_access_place_is_404_for_missing_and_forbidden_alike(world):
    cadre = world.b.cadre
    assert access_place(user=cadre, model=Estate, pk=world.b.estate.pk, perm=MANAGE) == (
        world.b.estate
    )
    for pk in (world.a.estate.pk, 999999, "not-a-number"):
        with pytest.raises(Http404):
            access_place(user=cadre, model=Estate, pk=pk, perm=MANAGE)


@pytest.mark.parametrize(
    "term, bare_digits, expected",
    [
        ("12", True, {"12号楼", "12号楼2单元", "12", "12幢"}),
        ("12号楼", True, {"12号楼", "12号楼2单元", "12", "12幢"}),
        ("１２号", False, {"12号楼", "12号楼2单元", "12", "12幢"}),
        ("012号楼", True, {"12号楼", "12号楼2单元", "12", "12幢"}),
        ("12", False, None),
        ("幸福", True, None),
    ],
)
def test_building_number_q(world, term, bare_digits, expected):
    for number in ("12号楼", "12号楼2单元", "12", "12幢", "112号楼", "120号楼", "2号楼"):
        BuildingFactory(estate=world.a.estate, number=number)
    condition = building_number_q(term, bare_digits=bare_digits)
    if expected is None:
        assert condition is None
    else:
        assert set(Building.objects.filter(condition).values_list("number", flat=True)) == expected


def test_moving_a_building_moves_its_rows_denormalised_ids(world):
    from buildings.models import Dwelling
    from buildings.services import building_move

    building = world.a.building
    building.number = "99号楼"
    building.save()
    building_move(building=building, estate=world.b.estate)
    b_hood = world.b.neighbourhood.pk
    assert Dwelling.objects.get(pk=world.a.dwelling.pk).neighbourhood_id == b_hood
    assert Dwelling.objects.get(pk=world.a.dwelling.pk).estate_id == world.b.estate.pk
    assert Elevator.objects.get(pk=world.a.elevator.pk).neighbourhood_id == b_hood
    assert ElevatorInspection.objects.get(pk=world.a.inspection.pk).neighbourhood_id == b_hood


def test_saving_a_building_moves_nothing(world):
    """A move is the service's job (buildings.services.building_move), not save()'s."""
    from buildings.models import Dwelling

    building = world.a.building
    building.number = "98号楼"
    building.save()
    assert Dwelling.objects.get(pk=world.a.dwelling.pk).estate_id == world.a.estate.pk
    assert ElevatorInspection.objects.get(pk=world.a.inspection.pk).neighbourhood_id == (
        world.a.neighbourhood.pk
    )
