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
import hashlib
from collections import defaultdict
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
from ..selectors.wellbeing import gap, residents_in_gap
from ..signals import wellbeing_alerts_raised

# How far in the future an event's time may be (clock skew of door controllers).
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
# The earliest time an event may have: an older one is a controller whose clock was never
# set (0001-01-01 and the like), not a sign of life.
EARLIEST_EVENT = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
MAX_BATCH = 500
INSERT_BATCH = 1000

WELLBEING_ALERT_HANDLED = events.WELLBEING_ALERT_HANDLED
# The notice kind of a new alert (registered in residents.apps; sent to the cadres).
WELLBEING_ALERT_KIND = "wellbeing.alert"


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
        gaps = [(pk, last_seen) for pk, *_place, last_seen in rows]
        wellbeing_alerts_notify(gaps=gaps)
        if gaps:
            wellbeing_alerts_raised.send(sender=WellbeingAlert, gaps=gaps)
    return len(alerts)


def wellbeing_alerts_notify(*, gaps: list[tuple[int, datetime.datetime | None]]) -> int:
    """Tell the neighbourhoods' cadres about the alerts of ``gaps`` ((resident id, last
    seen) pairs) in one digest per cadre; returns how many cadres were told. Call it in
    the transaction that raised the alerts: the notices and their outbox rows are written
    there, so a rolled-back run tells nobody and a committed one cannot lose them.

    Set-based: one query per 1,000 alerts (with their neighbourhoods), one for the
    cadres, then one ``notify()`` per cadre, never one per alert. The cadres are those
    holding the cadre role on an alert's neighbourhood, its area or its subdistrict.

    Exactly once: a run tells only about the alerts it raised (a re-run raises none: an
    alert is unique per gap), and each digest's key is a hash of the alert ids it lists,
    so a retried task or a second beat process raising the same alerts finds the
    Delivery rows and sends nothing. The text names the dwelling and the time of the last
    sign of life, never the resident: an SMS leaves Linli through a gateway.
    """
    if not gaps:
        return 0
    from django.contrib.contenttypes.models import ContentType
    from django.urls import reverse

    from accounts.models import Role
    from buildings.models import Area, Neighbourhood, Subdistrict
    from buildings.selectors import role_holders
    from notifications.services import notify

    wanted = set(gaps)
    resident_ids = sorted({pk for pk, _last_seen in gaps})
    found = []
    for start in range(0, len(resident_ids), INSERT_BATCH):
        found += [
            alert
            for alert in WellbeingAlert.objects.filter(
                resident_id__in=resident_ids[start : start + INSERT_BATCH]
            )
            .select_related(
                "neighbourhood", "resident__estate", "resident__building", "resident__dwelling"
            )
            .order_by("pk")
            if (alert.resident_id, alert.last_seen_at) in wanted
        ]
    if not found:
        return 0
    neighbourhoods = {
        alert.neighbourhood_id: (alert.neighbourhood.area_id, alert.neighbourhood.subdistrict_id)
        for alert in found
    }
    holders = role_holders(
        grants=[
            (Role.CADRE, Neighbourhood, list(neighbourhoods)),
            (Role.CADRE, Area, [a for a, _s in neighbourhoods.values() if a is not None]),
            (Role.CADRE, Subdistrict, [s for _a, s in neighbourhoods.values()]),
        ]
    )
    level = {
        ContentType.objects.get_for_model(model).pk: model
        for model in (Neighbourhood, Area, Subdistrict)
    }
    cadres_on: dict[tuple[type, int], set[int]] = defaultdict(set)
    users = {}
    for assignment in holders:
        cadres_on[(level[assignment.place_type_id], assignment.place_id)].add(assignment.user_id)
        users[assignment.user_id] = assignment.user

    told: dict[int, list[WellbeingAlert]] = defaultdict(list)
    for alert in found:
        area_id, subdistrict_id = neighbourhoods.get(alert.neighbourhood_id, (None, None))
        for user_id in (
            cadres_on[(Neighbourhood, alert.neighbourhood_id)]
            | cadres_on[(Area, area_id)]
            | cadres_on[(Subdistrict, subdistrict_id)]
        ):
            told[user_id].append(alert)

    hours = int(gap().total_seconds() // 3600)
    for user_id, alerts in told.items():
        ids = ",".join(str(alert.pk) for alert in alerts)
        key = "alerts:" + hashlib.sha256(ids.encode()).hexdigest()[:32]
        places = {alert.neighbourhood_id for alert in alerts}
        notify(
            recipients=[users[user_id]],
            kind=WELLBEING_ALERT_KIND,
            context={
                "count": len(alerts),
                "hours": hours,
                "items": [_alert_item(alert) for alert in alerts],
            },
            key=key,
            neighbourhood=next(iter(places)) if len(places) == 1 else None,
            url=(
                reverse("registry:alert_detail", args=[alerts[0].pk])
                if len(alerts) == 1
                else reverse("registry:alerts")
            ),
        )
    return len(told)


def _alert_item(alert: WellbeingAlert) -> dict:
    resident = alert.resident
    last_seen = timezone.localtime(alert.last_seen_at) if alert.last_seen_at else None
    return {
        "alert": alert.pk,
        "estate": resident.estate.name if resident.estate_id else "",
        "building": resident.building.number if resident.building_id else "",
        "room": resident.dwelling.room if resident.dwelling_id else "",
        "last_seen": f"{last_seen:%Y-%m-%d %H:%M}" if last_seen else "",
    }


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
