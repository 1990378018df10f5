"""Writes about places that carry a rule: elevator annual inspections (电梯年检) and
moving an estate or a building (every registered place-bound row follows)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import get_history_manager_for_model

from core.scoping import scope_for

from . import events
from .models import Building, Elevator, ElevatorInspection, Estate, Neighbourhood, add_years
from .permissions import MANAGE
from .placebound import (
    BUILDING,
    DISTRICT,
    ESTATE,
    NEIGHBOURHOOD,
    SUBDISTRICT,
    place_bound_models,
    wide_ids,
)
from .signals import place_moved

PASSING_RESULTS = frozenset(
    {ElevatorInspection.Result.PASSED, ElevatorInspection.Result.PASSED_WITH_NOTES}
)


def elevator_inspection_validate(
    *,
    elevator: Elevator,
    inspected_on: datetime.date,
    result: str = ElevatorInspection.Result.PASSED,
    today: datetime.date | None = None,
) -> None:
    """Raise ValidationError (keyed by field) if this inspection cannot be recorded.

    Called by :func:`elevator_inspection_record` under the elevator's row lock; the
    admin form shows these errors by running that service (core/admin_forms.py).
    """
    today = today or timezone.localdate()
    errors: dict[str, list[ValidationError]] = {}
    if result not in ElevatorInspection.Result.values:
        errors.setdefault("result", []).append(
            ValidationError(_("Unknown inspection result."), code="unknown_result")
        )
    if inspected_on > today:
        errors.setdefault("inspected_on", []).append(
            ValidationError(_("An inspection cannot be dated in the future."), code="future")
        )
    if elevator.installed_on and inspected_on < elevator.installed_on:
        errors.setdefault("inspected_on", []).append(
            ValidationError(
                _("The elevator was installed on %(date)s, after this date.")
                % {"date": elevator.installed_on.isoformat()},
                code="before_installation",
            )
        )
    if ElevatorInspection.objects.filter(elevator=elevator, inspected_on=inspected_on).exists():
        errors.setdefault("inspected_on", []).append(
            ValidationError(
                _("An inspection of this elevator on this day is already recorded."),
                code="duplicate_day",
            )
        )
    if errors:
        raise ValidationError(errors)


def _latest_passing_date(elevator: Elevator, *, exclude_pk=None) -> datetime.date | None:
    queryset = ElevatorInspection.objects.filter(elevator=elevator, result__in=PASSING_RESULTS)
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset.order_by("-inspected_on").values_list("inspected_on", flat=True).first()


def _save_elevator(locked: Elevator, caller: Elevator, fields: list[str]) -> None:
    if not fields:
        return
    locked.save(update_fields=[*fields, "updated_at"])
    for name in fields:  # keep the caller's instance in step
        setattr(caller, name, getattr(locked, name))


@transaction.atomic
def elevator_inspection_record(
    *,
    elevator: Elevator,
    inspected_on: datetime.date,
    result: str,
    agency: str = "",
    certificate_number: str = "",
    notes: str = "",
    recorded_by=None,
) -> ElevatorInspection:
    """Record one annual inspection and move the elevator's dates.

    * A passing result (passed, or passed with rectifications) that is the latest
      passing inspection sets ``last_inspection`` to ``inspected_on`` and
      ``next_inspection_due`` one year on (29 February -> 28 February). An older
      inspection recorded late is kept but never moves the dates back.
    * A failed result leaves both dates alone: the annual inspection is still due
      (a re-inspection after repairs is recorded as a new inspection).
    * Status: a failed inspection that is the latest one puts the elevator out of
      service (under the special-equipment rules a failed lift may not be used until
      it passes); a passing inspection that is the latest one puts an elevator that is
      out of service back in service. Maintenance and construction states are left
      to people. An inspection older than another recorded one changes no status.

    Raises ValidationError (future date, date before installation, a second
    inspection on the same day, unknown result) with translated messages.
    """
    locked = Elevator.objects.select_for_update().get(pk=elevator.pk)
    elevator_inspection_validate(elevator=locked, inspected_on=inspected_on, result=result)
    inspection = ElevatorInspection(
        elevator=locked,
        neighbourhood_id=locked.neighbourhood_id,
        inspected_on=inspected_on,
        result=result,
        agency=agency,
        certificate_number=certificate_number,
        notes=notes,
        recorded_by=recorded_by,
    )
    inspection.full_clean(validate_unique=False, validate_constraints=False)
    inspection.save()

    changed: list[str] = []
    is_latest = not (
        ElevatorInspection.objects.filter(elevator=locked, inspected_on__gt=inspected_on).exists()
    )
    if result in PASSING_RESULTS:
        newest_pass = max(
            filter(
                None,
                [locked.last_inspection, _latest_passing_date(locked, exclude_pk=inspection.pk)],
            ),
            default=None,
        )
        if newest_pass is None or inspected_on >= newest_pass:
            locked.last_inspection = inspected_on
            locked.next_inspection_due = add_years(inspected_on, 1)
            changed += ["last_inspection", "next_inspection_due"]
        if is_latest and locked.status == Elevator.Status.OUT_OF_SERVICE:
            locked.status = Elevator.Status.IN_SERVICE
            changed.append("status")
    elif is_latest and locked.status != Elevator.Status.OUT_OF_SERVICE:
        locked.status = Elevator.Status.OUT_OF_SERVICE
        changed.append("status")
    _save_elevator(locked, elevator, changed)
    return inspection


@transaction.atomic
def elevator_inspection_delete(*, inspection: ElevatorInspection) -> None:
    """Delete a wrongly recorded inspection and put the elevator's dates back in step.

    If the inspection was the one the dates came from (the latest passing one), the
    dates follow the latest passing inspection that remains; when none remains,
    ``last_inspection`` is cleared and ``next_inspection_due`` is left for a person
    to correct on the elevator. Status is left as it is.
    """
    locked = Elevator.objects.select_for_update().get(pk=inspection.elevator_id)
    was_source = (
        inspection.result in PASSING_RESULTS and locked.last_inspection == inspection.inspected_on
    )
    inspection.delete()
    if not was_source:
        return
    previous = _latest_passing_date(locked)
    locked.last_inspection = previous
    changed = ["last_inspection"]
    if previous is not None:
        locked.next_inspection_due = add_years(previous, 1)
        changed.append("next_inspection_due")
    locked.save(update_fields=[*changed, "updated_at"])


# --- moving an estate or a building ----------------------------------------------------------

HISTORY_BATCH = 1000


@dataclass(frozen=True)
class PlaceMove:
    """What a move did: the place, its ids before and after, rows updated per model."""

    place: models.Model
    old: dict[str, int]
    new: dict[str, int]
    rows: dict[str, int] = field(default_factory=dict)


def _require_manages(by, neighbourhood_ids) -> None:
    if by is None:  # a command or a test acting for the system
        return
    scope = scope_for(by, MANAGE)
    if not all(scope.covers_neighbourhood(pk) for pk in neighbourhood_ids):
        raise PermissionDenied(_("You do not manage both neighbourhoods of this move."))


def _write_history(model, condition, *, user, reason: str, now) -> None:
    """One historical row per moved row, written in batches (simple-history)."""
    try:
        manager = get_history_manager_for_model(model)
    except NotHistoricalModelError:
        return
    moved = model._base_manager.filter(condition).order_by("pk")
    batch = []
    for instance in moved.iterator(chunk_size=HISTORY_BATCH):
        batch.append(instance)
        if len(batch) == HISTORY_BATCH:
            manager.bulk_history_create(
                batch,
                update=True,
                default_user=user,
                default_change_reason=reason,
                default_date=now,
            )
            batch = []
    if batch:
        manager.bulk_history_create(
            batch, update=True, default_user=user, default_change_reason=reason, default_date=now
        )


def _carry(*, level: str, place_id: int, changes: dict[str, int], by, reason: str, now):
    """Set ``changes`` ({level: id}) on every registered model's rows under the place.

    One UPDATE per model, filtered by its own column or through its parents
    (``PlaceBound.place_q``); a model without the changed levels is left alone.
    """
    user = by if isinstance(by, models.Model) else None
    rows: dict[str, int] = {}
    if NEIGHBOURHOOD in changes:  # the district and subdistrict follow the neighbourhood
        changes = dict(changes)
        changes[SUBDISTRICT], changes[DISTRICT] = wide_ids([changes[NEIGHBOURHOOD]])[
            changes[NEIGHBOURHOOD]
        ]
    for model in place_bound_models():
        condition = model.place_q(level, [place_id])
        levels = model.place_levels()
        values = {f"{name}_id": pk for name, pk in changes.items() if name in levels}
        if condition is None or not values:
            continue
        if any(f.name == "updated_at" for f in model._meta.concrete_fields):
            values["updated_at"] = now
        count = model._base_manager.filter(condition).update(**values)
        rows[model._meta.label] = count
        if count:
            _write_history(model, condition, user=user, reason=reason, now=now)
    return rows


@transaction.atomic
def estate_move(*, estate: Estate, neighbourhood: Neighbourhood, by=None) -> PlaceMove:
    """Move an estate to another neighbourhood, with everything bound to it.

    In one transaction: the estate's ``neighbourhood_id``, then the place ids of
    every registered place-bound model (``buildings.placebound``) under the
    estate, one UPDATE per model; the models with history (django-simple-history)
    get a historical row per moved row, so the move shows in their change
    history. The move is audited in both neighbourhoods (``events.estate_moved``)
    and ``signals.place_moved`` is sent.

    ``core.AuditEvent`` rows are an append-only record and are *not* rewritten:
    an event keeps the neighbourhood it happened in, so the old committee keeps
    its record of what it did and the new one sees events from the move on.

    ``by`` must manage both neighbourhoods (PermissionDenied); the new
    neighbourhood must not already have an estate of the same name (ValidationError).
    """
    locked = Estate.objects.select_for_update().get(pk=estate.pk)
    old = {"neighbourhood_id": locked.neighbourhood_id}
    new = {"neighbourhood_id": neighbourhood.pk}
    if old == new:
        return PlaceMove(place=estate, old=old, new=new)
    _require_manages(by, [old["neighbourhood_id"], new["neighbourhood_id"]])
    if Estate.objects.filter(neighbourhood=neighbourhood, name=locked.name).exists():
        raise ValidationError(
            {
                "neighbourhood": _("This neighbourhood already has an estate named “%(name)s”.")
                % {"name": locked.name}
            }
        )
    now = timezone.now()
    Estate.objects.filter(pk=locked.pk).update(neighbourhood_id=neighbourhood.pk, updated_at=now)
    reason = _("Estate “%(estate)s” moved to %(neighbourhood)s") % {
        "estate": locked.name,
        "neighbourhood": neighbourhood.name,
    }
    rows = _carry(
        level=ESTATE,
        place_id=locked.pk,
        changes={NEIGHBOURHOOD: neighbourhood.pk},
        by=by,
        reason=reason,
        now=now,
    )
    estate.neighbourhood, estate.updated_at = neighbourhood, now  # the caller's instance
    events.estate_moved(actor=by, estate=estate, old=old, new=new, rows=rows)
    place_moved.send(sender=Estate, place=estate, old=old, new=new, by=by, rows=rows)
    return PlaceMove(place=estate, old=old, new=new, rows=rows)


@transaction.atomic
def building_move(*, building: Building, estate: Estate, by=None) -> PlaceMove:
    """Move a building to another estate (possibly in another neighbourhood).

    Like :func:`estate_move`: the building's estate and neighbourhood ids, then
    those of every registered place-bound model under the building, history rows,
    an audit event in each neighbourhood concerned (``events.building_moved``) and
    ``signals.place_moved``. Audit events are not rewritten (see :func:`estate_move`).

    ``by`` must manage both neighbourhoods (PermissionDenied); the new estate must
    not already have a building with the same number (ValidationError).
    """
    source_id = Building.objects.values_list("estate_id", flat=True).get(pk=building.pk)
    # Both estates first, in primary-key order, then the building: an estate move
    # running at the same time takes its estate first too, so neither waits on the other.
    estates = {
        e.pk: e
        for e in Estate.objects.select_for_update()
        .filter(pk__in={source_id, estate.pk})
        .order_by("pk")
    }
    locked = Building.objects.select_for_update().get(pk=building.pk)
    if locked.estate_id != source_id:
        raise ValidationError(_("This building was moved meanwhile; try again."))
    target = estates[estate.pk]
    old = {"neighbourhood_id": locked.neighbourhood_id, "estate_id": locked.estate_id}
    new = {"neighbourhood_id": target.neighbourhood_id, "estate_id": target.pk}
    if old == new:
        return PlaceMove(place=building, old=old, new=new)
    _require_manages(by, [old["neighbourhood_id"], new["neighbourhood_id"]])
    if Building.objects.filter(estate=target, number=locked.number).exists():
        raise ValidationError(
            {
                "estate": _("This estate already has a building numbered “%(number)s”.")
                % {"number": locked.number}
            }
        )
    now = timezone.now()
    reason = _("Building “%(building)s” moved to estate “%(estate)s”") % {
        "building": locked.number,
        "estate": target.name,
    }
    rows = _carry(
        level=BUILDING,
        place_id=locked.pk,
        changes={NEIGHBOURHOOD: target.neighbourhood_id, ESTATE: target.pk},
        by=by,
        reason=reason,
        now=now,
    )
    building.estate, building.neighbourhood_id, building.updated_at = (
        target,
        target.neighbourhood_id,
        now,
    )
    events.building_moved(actor=by, building=building, old=old, new=new, rows=rows)
    place_moved.send(sender=Building, place=building, old=old, new=new, by=by, rows=rows)
    return PlaceMove(place=building, old=old, new=new, rows=rows)
