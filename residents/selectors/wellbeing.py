"""Reads of the wellbeing alerts (门禁 door-access events), scoped to the user who asks.

* :func:`min_age` and :func:`gap`: who is watched and after how long a silence
  (settings ``LINLI_WELLBEING_MIN_AGE``, 80, and ``LINLI_WELLBEING_GAP_HOURS``, 48).
* :func:`residents_in_gap`: the residents an alert is due for now; the daily task
  (``residents.services.raise_wellbeing_alerts``) inserts their alerts.
* :func:`alerts_visible_to` (:data:`OPEN`, :data:`HANDLED` or :data:`ALL`) and
  :func:`access_alert` (404 outside the scope): the cadre's list and one alert.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.shortcuts import get_object_or_404
from django.utils import timezone

from buildings.models import add_years
from buildings.permissions import MANAGE
from core.scoping import scope_for

from ..models import AccessEvent, Resident, WellbeingAlert

DEFAULT_MIN_AGE = 80
DEFAULT_GAP_HOURS = 48

OPEN, HANDLED, ALL = "open", "handled", "all"


def min_age() -> int:
    return int(getattr(settings, "LINLI_WELLBEING_MIN_AGE", DEFAULT_MIN_AGE))


def gap() -> datetime.timedelta:
    return datetime.timedelta(
        hours=float(getattr(settings, "LINLI_WELLBEING_GAP_HOURS", DEFAULT_GAP_HOURS))
    )


def residents_in_gap(*, now: datetime.datetime | None = None) -> QuerySet:
    """Current residents old enough, seen before but not within the gap, not yet alerted
    for this gap; annotated with ``last_seen`` (one query when evaluated)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    born_by = add_years(today, -min_age())
    last_own = (
        AccessEvent.objects.filter(resident_id=OuterRef("pk"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    last_home = (
        AccessEvent.objects.filter(dwelling_id=OuterRef("dwelling_id"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    own, home = Subquery(last_own), Subquery(last_home)
    already = WellbeingAlert.objects.filter(
        resident_id=OuterRef("pk"), last_seen_at=OuterRef("last_seen")
    )
    return (
        Resident.objects.current()
        .filter(birth_date__lte=born_by)
        # GREATEST ignores NULLs on PostgreSQL but not on SQLite: coalesce both ways.
        .annotate(last_seen=Greatest(Coalesce(own, home), Coalesce(home, own)))
        .filter(last_seen__isnull=False, last_seen__lt=now - gap())
        .filter(~Exists(already))
    )


def alerts_visible_to(*, user, status: str = OPEN) -> QuerySet:
    queryset = scope_for(user, MANAGE).filter(
        WellbeingAlert.objects.select_related(
            "resident__estate", "resident__building", "resident__dwelling", "handled_by"
        )
    )
    if status == OPEN:
        queryset = queryset.filter(handled_at__isnull=True).order_by("-raised_at", "-pk")
    elif status == HANDLED:
        queryset = queryset.filter(handled_at__isnull=False).order_by("-handled_at", "-pk")
    else:
        queryset = queryset.order_by("-raised_at", "-pk")
    return queryset


def access_alert(*, user, pk) -> WellbeingAlert:
    """The alert if it is in the user's scope; 404 for missing and forbidden alike."""
    return get_object_or_404(alerts_visible_to(user=user, status=ALL), pk=pk)
