"""Reads over the place tree, already scoped to the user who asks, and what the home
page shows: the places a user holds a role on, their dwellings and a cadre's figures.

Every list here costs a fixed number of queries, whatever the number of places a user
holds: role places are fetched one query per kind of place (at most six), dwellings in
one query, a cadre's figures in a handful.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import RoleAssignment
from core.scoping import scope_for

from .models import (
    Area,
    Building,
    District,
    Dwelling,
    Elevator,
    Estate,
    Neighbourhood,
    Subdistrict,
)
from .permissions import MANAGE


def access_place(*, user, model, pk, perm):
    """Fetch a place-bound row the user may see for ``perm``, or raise Http404.

    A missing row and a row outside the user's scope raise the same 404, so the
    answer never tells whether the id exists.
    """
    queryset = scope_for(user, perm).filter(model._default_manager.all())
    try:
        return queryset.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404(_("No %(name)s found here.") % {"name": model._meta.verbose_name}) from None


# --- elevator inspections (电梯年检) ---------------------------------------------

OVERDUE = "overdue"


def inspection_due_q(
    *, within_days: int | None = None, overdue: bool = False, today: datetime.date | None = None
) -> Q:
    """Elevators by next inspection date, relative to ``today`` (local date by default).

    ``overdue=True``: the due date has passed. ``within_days=N``: due today or in the
    next N days, not yet overdue. Both: overdue or due within N days.
    """
    today = today or timezone.localdate()
    condition = Q(pk__in=[])
    if overdue:
        condition |= Q(next_inspection_due__lt=today)
    if within_days is not None:
        condition |= Q(
            next_inspection_due__gte=today,
            next_inspection_due__lte=today + datetime.timedelta(days=within_days),
        )
    return condition


def elevators_due(
    *, user, within_days: int, perm: str = MANAGE, today: datetime.date | None = None
) -> QuerySet[Elevator]:
    """The user's elevators whose inspection is overdue or due within ``within_days``.

    Soonest first, with the building and estate loaded (for "某号楼电梯" messages).
    """
    queryset = (
        Elevator.objects.filter(
            inspection_due_q(within_days=within_days, overdue=True, today=today)
        )
        .select_related("building__estate", "neighbourhood")
        .order_by("next_inspection_due", "pk")
    )
    return scope_for(user, perm).filter(queryset)


# --- search by building number (12, 12号楼, １２号, 12幢 …) -----------------------

_BUILDING_NUMBER = re.compile(r"^(\d{1,5})\s*(号楼|号|幢|栋|楼|#)?$")
_NUMBER_SEPARATORS = ("号", "幢", "栋", "楼", "#", "-", " ", "单元")


def building_number_q(term: str, *, field: str = "number", bare_digits: bool = True) -> Q | None:
    """A filter matching building ``term`` exactly, or None if ``term`` is no building number.

    "12", "12号楼", "12号", "12幢", "12栋" (full-width digits too) all find 12号楼 and
    12号楼2单元, but not 112号楼 or 120号楼. With ``bare_digits=False`` a term of
    digits alone is not taken for a building number (it may be a room, 1203).
    """
    normalised = unicodedata.normalize("NFKC", term or "").strip()
    match = _BUILDING_NUMBER.match(normalised)
    if not match or (match.group(2) is None and not bare_digits):
        return None
    number = str(int(match.group(1)))  # "012" -> "12"
    condition = Q(**{f"{field}__iexact": number})
    for separator in _NUMBER_SEPARATORS:
        condition |= Q(**{f"{field}__startswith": f"{number}{separator}"})
    return condition


# How far ahead the home page warns about elevator inspections.
INSPECTION_WARNING_DAYS = 30
# At most this many due elevators are listed; the total is counted.
DUE_ELEVATORS_SHOWN = 50

# For each kind of place, what to join to name its ancestors in one query.
_PATH_RELATED = {
    District: (),
    Subdistrict: ("district",),
    Area: ("subdistrict__district",),
    Neighbourhood: ("subdistrict__district", "area"),
    Estate: ("neighbourhood__subdistrict__district", "neighbourhood__area"),
    Building: ("estate__neighbourhood__subdistrict__district", "estate__neighbourhood__area"),
}


def place_path(place) -> list:
    """The place and its ancestors, top first: [宝山区, 友谊路街道, 甲居民区].

    Expects the ancestors already joined (see ``_PATH_RELATED``).
    """
    if isinstance(place, District):
        return [place]
    if isinstance(place, Subdistrict):
        return [place.district, place]
    if isinstance(place, Area):
        return [*place_path(place.subdistrict), place]
    if isinstance(place, Neighbourhood):
        parent = place.area if place.area_id else place.subdistrict
        return [*place_path(parent), place]
    if isinstance(place, Estate):
        return [*place_path(place.neighbourhood), place]
    if isinstance(place, Building):
        return [*place_path(place.estate), place]
    return [place]


@dataclass(frozen=True)
class RolePlace:
    role: str
    role_label: str
    place: object
    path: list


def role_places_for(*, user) -> list[RolePlace]:
    """The user's role assignments with their places and place paths.

    One query for the assignments, then one per kind of place held.
    """
    assignments = list(
        RoleAssignment.objects.filter(user=user).order_by("role", "place_type_id", "place_id")
    )
    ids_by_type: dict[int, set[int]] = defaultdict(set)
    for assignment in assignments:
        ids_by_type[assignment.place_type_id].add(assignment.place_id)
    places: dict[tuple[int, int], object] = {}
    for type_id, ids in ids_by_type.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model not in _PATH_RELATED:
            continue
        queryset = model.objects.filter(pk__in=ids)
        related = _PATH_RELATED[model]
        if related:
            queryset = queryset.select_related(*related)
        for place in queryset:
            places[(type_id, place.pk)] = place
    result = []
    for assignment in assignments:
        place = places.get((assignment.place_type_id, assignment.place_id))
        if place is None:  # the place was deleted; the row is stale
            continue
        result.append(
            RolePlace(
                role=assignment.role,
                role_label=assignment.get_role_display(),
                place=place,
                path=place_path(place),
            )
        )
    return result


def owned_dwellings_for(*, user):
    """Dwellings the user owns, with building, estate and neighbourhood joined."""
    return (
        Dwelling.objects.filter(owners=user)
        .select_related("building__estate", "neighbourhood")
        .order_by("estate__name", "building__number", "room")
    )


@dataclass
class CadreOverview:
    estates: int
    buildings: int
    dwellings: int
    elevators: int
    due_elevators: list = field(default_factory=list)
    due_total: int = 0
    warning_days: int = INSPECTION_WARNING_DAYS
    today: datetime.date | None = None


def cadre_overview_for(*, user, today: datetime.date | None = None) -> CadreOverview | None:
    """Figures for the places a user manages, or None if they manage none.

    Elevators listed are those whose annual inspection is overdue or due within
    ``INSPECTION_WARNING_DAYS``, soonest first.
    """
    scope = scope_for(user, MANAGE)
    if scope.is_empty:
        return None
    today = today or timezone.localdate()
    due = elevators_due(user=user, within_days=INSPECTION_WARNING_DAYS, today=today)
    shown = list(due[:DUE_ELEVATORS_SHOWN])
    return CadreOverview(
        estates=scope.filter(Estate.objects.all()).count(),
        buildings=scope.filter(Building.objects.all()).count(),
        dwellings=scope.filter(Dwelling.objects.all()).count(),
        elevators=scope.filter(Elevator.objects.all()).count(),
        due_elevators=shown,
        due_total=due.count() if len(shown) == DUE_ELEVATORS_SHOWN else len(shown),
        today=today,
    )
