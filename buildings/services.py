"""Writes about places that carry a rule: elevator annual inspections (电梯年检)."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Elevator, ElevatorInspection, add_years

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

    The admin form calls this too, so that its errors are the service's errors.
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
