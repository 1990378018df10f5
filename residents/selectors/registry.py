"""Reads of the registry: residents and households in the user's scope."""

from __future__ import annotations

import datetime

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from buildings.permissions import MANAGE
from core.scoping import scope_for

from ..models import Household, Resident


def residents_visible_to(*, user, perm: str = MANAGE):
    """Residents in the user's scope, with what list pages show (no N+1)."""
    return scope_for(user, perm).filter(
        Resident.objects.select_related(
            "household", "dwelling", "building", "estate"
        ).prefetch_related("care_tags")
    )


def households_visible_to(*, user, perm: str = MANAGE):
    return scope_for(user, perm).filter(
        Household.objects.select_related("dwelling", "building", "estate", "head")
    )


def access_resident(*, user, pk, perm: str = MANAGE):
    """The resident if the user may see it; Http404 for missing and forbidden alike."""
    return get_object_or_404(residents_visible_to(user=user, perm=perm), pk=pk)


def access_household(*, user, pk, perm: str = MANAGE):
    return get_object_or_404(households_visible_to(user=user, perm=perm), pk=pk)


# Age bands of the resident list and the export filter:
# (value, label, lowest age, first age past the band).
AGE_BANDS = (
    ("0-17", _("under 18"), 0, 18),
    ("18-59", _("18 to 59"), 18, 60),
    ("60-79", _("60 to 79"), 60, 80),
    ("80-89", _("80 to 89"), 80, 90),
    ("90-", _("90 and over"), 90, None),
)


def _latest_birth_date(today: datetime.date, age: int) -> datetime.date:
    """The latest birth date of someone who is ``age`` today (29 February -> 28th)."""
    try:
        return today.replace(year=today.year - age)
    except ValueError:
        return today.replace(year=today.year - age, day=28)


def age_band_q(low: int, high: int | None, today: datetime.date) -> Q:
    """Residents aged ``low`` or more and under ``high``: two bounds on birth_date (indexed)."""
    condition = Q(birth_date__lte=_latest_birth_date(today, low))
    if high is not None:
        condition &= Q(birth_date__gt=_latest_birth_date(today, high))
    return condition


def current_member_count():
    """An annotation: how many current members (not moved out) a household has.

    A correlated subquery, so a page of households costs one query whatever its size.
    """
    members = (
        Resident.objects.filter(household_id=OuterRef("pk"), moved_out__isnull=True)
        .order_by()
        .values("household_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(members, output_field=IntegerField()), Value(0))
