"""Races on the place tree's locked rows, with real parallel connections (PostgreSQL only).

``elevator_inspection_record`` and ``elevator_inspection_delete`` lock the
elevator row: its ``last_inspection`` / ``next_inspection_due`` / ``status`` are
derived from its inspections, and two writers reading the inspections at once
would each derive them from a list missing the other's row. Each test starts
several threads at one barrier, each on its own database connection, and checks
that the elevator ends as if they had run one after the other. Each race runs
``ROUNDS`` times on a fresh elevator.

``estate_move`` and ``building_move`` lock the moved place (and a building move
both estates): concurrent moves chain one after the other, and a building moved
into an estate that moves meanwhile ends with that estate's new neighbourhood.

SQLite serialises writers, so these tests only mean something on PostgreSQL,
where CI runs the suite.
"""

from __future__ import annotations

import datetime
import random

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from buildings.models import Building, Dwelling, Elevator, ElevatorInspection, Estate, add_years
from buildings.services import (
    building_move,
    elevator_inspection_delete,
    elevator_inspection_record,
    estate_move,
)
from core.models import AuditEvent
from tests.concurrency import run_together
from tests.factories import (
    BuildingFactory,
    DwellingFactory,
    ElevatorFactory,
    ElevatorInspectionFactory,
    EstateFactory,
    NeighbourhoodFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5
PASSED = ElevatorInspection.Result.PASSED
FAILED = ElevatorInspection.Result.FAILED


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real row locks")


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def overdue_elevator(**kwargs) -> Elevator:
    return ElevatorFactory(
        last_inspection=days_ago(400), next_inspection_due=days_ago(35), **kwargs
    )


def record(elevator, day, result=PASSED):
    """A racer: its own copy of the elevator, as each request would have."""
    mine = Elevator.objects.get(pk=elevator.pk)
    return lambda: elevator_inspection_record(elevator=mine, inspected_on=day, result=result)


# --- elevator_inspection_record ----------------------------------------------------------------


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_passes_on_different_days_leave_the_latest_dates(round_):
    elevator = overdue_elevator()
    days = [days_ago(n) for n in (40, 30, 20, 10)]
    random.Random(round_).shuffle(days)

    results = run_together(*[record(elevator, day) for day in days])

    assert all(isinstance(r, ElevatorInspection) for r in results), results
    assert sorted(
        ElevatorInspection.objects.filter(elevator=elevator).values_list("inspected_on", flat=True)
    ) == sorted(days)
    elevator.refresh_from_db()
    latest = max(days)
    assert elevator.last_inspection == latest
    assert elevator.next_inspection_due == add_years(latest, 1)
    assert elevator.status == Elevator.Status.IN_SERVICE


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_latest_failure_keeps_the_elevator_out_of_service_whatever_passes_alongside(round_):
    """Older passes recorded with a newer failure: the failure is the latest word."""
    elevator = overdue_elevator(status=Elevator.Status.OUT_OF_SERVICE)
    racers = [
        record(elevator, days_ago(30)),
        record(elevator, days_ago(20)),
        record(elevator, days_ago(25)),
        record(elevator, days_ago(10), FAILED),
    ]
    random.Random(round_).shuffle(racers)

    results = run_together(*racers)

    assert all(isinstance(r, ElevatorInspection) for r in results), results
    elevator.refresh_from_db()
    assert elevator.status == Elevator.Status.OUT_OF_SERVICE
    assert elevator.last_inspection == days_ago(20)  # the latest passing one
    assert elevator.next_inspection_due == add_years(days_ago(20), 1)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_inspections_on_one_day_record_one_and_refuse_the_others_cleanly(round_):
    elevator = overdue_elevator()
    day = days_ago(5)

    results = run_together(*[record(elevator, day) for _ in range(4)])

    recorded = [r for r in results if isinstance(r, ElevatorInspection)]
    refused = [r for r in results if r not in recorded]
    assert len(recorded) == 1, results
    # a translated form error, not a database IntegrityError
    assert all(isinstance(r, ValidationError) for r in refused), refused
    assert all("inspected_on" in r.error_dict for r in refused), refused
    assert ElevatorInspection.objects.filter(elevator=elevator).count() == 1
    elevator.refresh_from_db()
    assert elevator.last_inspection == day


# --- elevator_inspection_delete ----------------------------------------------------------------


def _recorded(elevator, *ages, result=PASSED):
    return [
        elevator_inspection_record(elevator=elevator, inspected_on=days_ago(n), result=result)
        for n in ages
    ]


def delete(inspection):
    mine = ElevatorInspection.objects.get(pk=inspection.pk)
    return lambda: elevator_inspection_delete(inspection=mine)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_deletes_leave_the_dates_on_the_latest_remaining_pass(round_):
    elevator = overdue_elevator()
    oldest, *others = _recorded(elevator, 40, 30, 20, 10)
    elevator.refresh_from_db()
    assert elevator.last_inspection == days_ago(10)
    racers = [delete(i) for i in others]
    random.Random(round_).shuffle(racers)

    results = run_together(*racers)

    assert results == [None] * len(others), results
    assert list(ElevatorInspection.objects.filter(elevator=elevator)) == [oldest]
    elevator.refresh_from_db()
    assert elevator.last_inspection == oldest.inspected_on
    assert elevator.next_inspection_due == add_years(oldest.inspected_on, 1)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_deleting_the_source_while_a_newer_pass_is_recorded_keeps_the_newer(round_):
    elevator = overdue_elevator()
    _older, source = _recorded(elevator, 30, 20)
    racers = [delete(source), record(elevator, days_ago(5))]
    random.Random(round_).shuffle(racers)

    results = run_together(*racers)

    assert not [r for r in results if isinstance(r, Exception)], results
    elevator.refresh_from_db()
    assert elevator.last_inspection == days_ago(5)
    assert elevator.next_inspection_due == add_years(days_ago(5), 1)
    assert sorted(
        ElevatorInspection.objects.filter(elevator=elevator).values_list("inspected_on", flat=True)
    ) == [days_ago(30), days_ago(5)]


# --- estate_move / building_move -----------------------------------------------------------------


def _estate_with_rows(neighbourhood, name):
    estate = EstateFactory(neighbourhood=neighbourhood, name=name)
    building = BuildingFactory(estate=estate)
    DwellingFactory(building=building)
    elevator = ElevatorFactory(building=building)
    ElevatorInspectionFactory(elevator=elevator)
    return estate, building


def _rows_below(*models, **where):
    """(model, neighbourhood_id, estate_id) of the place rows of ``models`` under a place."""
    models = models or (Building, Dwelling, Elevator)
    return [
        (model.__name__, row["neighbourhood_id"], row["estate_id"])
        for model in models
        for row in model.objects.filter(**where).values("neighbourhood_id", "estate_id")
    ]


def _moves(action, target):
    """The moves recorded for ``target``, in order (each writes one audit row in each
    neighbourhood concerned; the row in the destination stands for the move)."""
    events = AuditEvent.objects.filter(action=action, target_id=target.pk).order_by("pk")
    return [e.params for e in events if e.neighbourhood_id == e.params["to_neighbourhood"]]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_moves_of_one_estate_chain_one_after_the_other(round_):
    start, *targets = [NeighbourhoodFactory() for _ in range(4)]
    estate, _building = _estate_with_rows(start, f"搬迁小区{round_}")
    copies = [Estate.objects.get(pk=estate.pk) for _ in targets]  # one per racer
    racers = [
        (lambda mine=mine, n=n: estate_move(estate=mine, neighbourhood=n))
        for mine, n in zip(copies, targets, strict=True)
    ]

    results = run_together(*racers)

    assert not [r for r in results if isinstance(r, Exception)], results
    estate.refresh_from_db()
    moves = _moves("estate_moved", estate)
    assert len(moves) == len(targets), moves
    before = start.pk
    for move in moves:  # each move starts where the one before it left the estate
        assert move["from_neighbourhood"] == before, moves
        before = move["to_neighbourhood"]
    assert estate.neighbourhood_id == before
    assert {n for _m, n, _e in _rows_below(estate=estate)} == {estate.neighbourhood_id}


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_building_moved_into_an_estate_that_moves_meanwhile_follows_it(round_):
    """building_move reads the target estate's neighbourhood under the estate's lock."""
    home, there, later = NeighbourhoodFactory(), NeighbourhoodFactory(), NeighbourhoodFactory()
    _source, building = _estate_with_rows(home, "原小区")
    target, _other = _estate_with_rows(there, f"新小区{round_}")
    moved, into, moving = (
        Building.objects.get(pk=building.pk),
        Estate.objects.get(pk=target.pk),
        Estate.objects.get(pk=target.pk),
    )
    racers = [
        lambda: building_move(building=moved, estate=into),
        lambda: estate_move(estate=moving, neighbourhood=later),
    ]
    random.Random(round_).shuffle(racers)

    results = run_together(*racers)

    assert not [r for r in results if isinstance(r, Exception)], results
    building.refresh_from_db()
    assert building.estate_id == target.pk
    assert building.neighbourhood_id == later.pk
    assert set(_rows_below(Dwelling, Elevator, building=building)) == {
        (model, later.pk, target.pk) for model in ("Dwelling", "Elevator")
    }
    assert {n for _m, n, _e in _rows_below(estate=target)} == {later.pk}


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_moves_of_one_building_let_one_win(round_):
    home = NeighbourhoodFactory()
    _source, building = _estate_with_rows(home, "原小区")
    targets = [EstateFactory(neighbourhood=NeighbourhoodFactory()) for _ in range(3)]
    copies = [Building.objects.get(pk=building.pk) for _ in targets]  # one per racer
    racers = [
        (lambda mine=mine, t=t: building_move(building=mine, estate=t))
        for mine, t in zip(copies, targets, strict=True)
    ]

    results = run_together(*racers)

    won = [r for r in results if not isinstance(r, Exception)]
    assert len(won) == 1, results
    assert all(isinstance(r, ValidationError) for r in results if r not in won), results
    building.refresh_from_db()
    winner = won[0].new
    assert (building.estate_id, building.neighbourhood_id) == (
        winner["estate_id"],
        winner["neighbourhood_id"],
    )
    assert len(_moves("building_moved", building)) == 1
    assert set(_rows_below(Dwelling, Elevator, building=building)) == {
        (model, winner["neighbourhood_id"], winner["estate_id"])
        for model in ("Dwelling", "Elevator")
    }
