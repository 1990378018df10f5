"""Wellbeing alerts from door-access events (门禁).

* :func:`access_events_record` stores events sent by a district system (the API
  ``POST /api/v1/access-events/``), for residents or dwellings inside the
  sender's jurisdiction.
* :func:`raise_wellbeing_alerts` (daily, Celery) raises an alert for each
  current resident aged ``LINLI_WELLBEING_MIN_AGE`` (80) or more whose last sign
  of life - the latest event of the resident *or of their dwelling* - is older
  than ``LINLI_WELLBEING_GAP_HOURS`` (48). One alert per gap: the gap is named by
  its last event (``WellbeingAlert`` is unique on resident + last_seen_at), so a
  re-run raises nothing new, and a new event followed by another gap raises
  again. Residents with no event at all are never alerted: where they live there
  is no door-access system sending events, and silence means nothing.
  It is set-based: one query finds the residents in a gap
  (``residents.selectors.wellbeing.residents_in_gap``: correlated subqueries on the
  ``(resident, occurred_at)`` and ``(dwelling, occurred_at)`` indexes), then alerts
  are inserted in batches.
* :func:`wellbeing_alert_handle`: a cadre marks an alert handled with a note (audited).

The cadre's list and the settings above are read in ``residents.selectors.wellbeing``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from buildings.models import Dwelling
from core.scoping import Scope
from core.text import clean_text

from .. import events
from ..models import AccessEvent, Resident, WellbeingAlert
from ..selectors.wellbeing import residents_in_gap

# How far in the future an event's time may be (clock skew of door controllers).
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
# The earliest time an event may have: an older one is a controller whose clock was never
# set (0001-01-01 and the like), not a sign of life.
EARLIEST_EVENT = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
MAX_BATCH = 500
INSERT_BATCH = 1000

WELLBEING_ALERT_HANDLED = events.WELLBEING_ALERT_HANDLED


# --- recording events ----------------------------------------------------------------------


@dataclass(frozen=True)
class EventInput:
    """One event as the API validated its shape."""

    occurred_at: datetime.datetime
    resident_id: int | None = None
    dwelling_id: int | None = None
    device: str = ""
    source: str = ""


class SubjectNotFound(Exception):
    """Residents or dwellings not found in the jurisdiction: ``{index: field}``."""

    def __init__(self, missing: dict[int, str]):
        super().__init__(missing)
        self.missing = missing


def access_events_record(
    *, scope: Scope, events: list[EventInput], now: datetime.datetime | None = None
) -> list[AccessEvent]:
    """Store ``events`` if every one names a resident or dwelling inside ``scope``.

    All or nothing: an event in the future (beyond 5 minutes) or before 2000, a resident who
    does not live in the dwelling named with them, or too many events raise
    ValidationError (keys ``"<index>.<field>"``); a subject outside the scope or
    missing raises :class:`SubjectNotFound` naming every such event. A few
    queries whatever the number of events.
    """
    now = now or timezone.now()
    if len(events) > MAX_BATCH:
        raise ValidationError(
            {"non_field_errors": [_("Send at most %(max)s events at once.") % {"max": MAX_BATCH}]}
        )
    errors: dict[str, list[str]] = {}
    for index, event in enumerate(events):
        if event.resident_id is None and event.dwelling_id is None:
            errors[f"{index}.resident_id"] = [_("Name a resident_id or a dwelling_id.")]
        if event.occurred_at > now + FUTURE_TOLERANCE:
            errors[f"{index}.occurred_at"] = [_("The event cannot be in the future.")]
        elif event.occurred_at < EARLIEST_EVENT:
            errors[f"{index}.occurred_at"] = [_("The event cannot be before the year 2000.")]
    if errors:
        raise ValidationError(errors)

    resident_ids = {e.resident_id for e in events if e.resident_id is not None}
    dwelling_ids = {e.dwelling_id for e in events if e.dwelling_id is not None}
    residents = {
        pk: (dwelling_id, neighbourhood_id)
        for pk, dwelling_id, neighbourhood_id in (
            scope.filter(Resident.objects.filter(pk__in=resident_ids)).values_list(
                "pk", "dwelling_id", "neighbourhood_id"
            )
            if resident_ids
            else []
        )
    }
    dwellings = dict(
        scope.filter(Dwelling.objects.filter(pk__in=dwelling_ids)).values_list(
            "pk", "neighbourhood_id"
        )
        if dwelling_ids
        else []
    )
    missing: dict[int, str] = {}
    for index, event in enumerate(events):
        if event.resident_id is not None and event.resident_id not in residents:
            missing[index] = "resident_id"
        elif event.dwelling_id is not None and event.dwelling_id not in dwellings:
            missing[index] = "dwelling_id"
    if missing:
        raise SubjectNotFound(missing)
    for index, event in enumerate(events):
        if (
            event.resident_id is not None
            and event.dwelling_id is not None
            and residents[event.resident_id][0] != event.dwelling_id
        ):
            errors[f"{index}.dwelling_id"] = [_("The resident does not live in this dwelling.")]
    if errors:
        raise ValidationError(errors)

    rows = [
        AccessEvent(
            resident_id=event.resident_id,
            dwelling_id=event.dwelling_id,
            neighbourhood_id=(
                residents[event.resident_id][1]
                if event.resident_id is not None
                else dwellings[event.dwelling_id]
            ),
            occurred_at=event.occurred_at,
            device=event.device,
            source=event.source,
        )
        for event in events
    ]
    with transaction.atomic():
        return AccessEvent.objects.bulk_create(rows, batch_size=INSERT_BATCH)


# --- raising alerts ----------------------------------------------------------------------


def raise_wellbeing_alerts(*, now: datetime.datetime | None = None) -> int:
    """Raise the alerts due now; returns how many were raised. Idempotent."""
    places = ("district_id", "subdistrict_id", "neighbourhood_id")
    rows = list(residents_in_gap(now=now).values_list("pk", *places, "last_seen"))
    alerts = [
        WellbeingAlert(
            resident_id=pk,
            **dict(zip(places, place, strict=True)),
            last_seen_at=last_seen,
        )
        for pk, *place, last_seen in rows
    ]
    with transaction.atomic():
        # A concurrent run may have inserted some already: the unique constraint wins.
        WellbeingAlert.objects.bulk_create(alerts, batch_size=INSERT_BATCH, ignore_conflicts=True)
    return len(alerts)


# --- handling -------------------------------------------------------------------------------


@transaction.atomic
def wellbeing_alert_handle(
    *, alert: WellbeingAlert, by, note: str, ip: str | None = None
) -> WellbeingAlert:
    """Mark an alert handled with what was done (audited)."""
    note = clean_text(note, field="note", multiline=True)
    if not note:
        raise ValidationError({"note": _("Say what was done, e.g. “called, she is fine”.")})
    if len(note) > 2000:
        raise ValidationError({"note": _("A note has at most 2000 characters.")})
    locked = WellbeingAlert.objects.select_for_update().get(pk=alert.pk)
    if locked.handled_at is not None:
        raise ValidationError(_("This alert has already been handled."))
    alert.handled_at = timezone.now()
    alert.handled_by = by
    alert.note = note
    alert.save(update_fields=["handled_at", "handled_by", "note"])
    events.wellbeing_alert_handled(actor=by, alert=alert, note=note, ip=ip)
    return alert
