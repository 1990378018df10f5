"""Reads about people: what the home page shows a signed-in user.

Every list here costs a fixed number of queries, whatever the number of
places a user holds: role places are fetched one query per kind of place
(at most six), dwellings in one query, a cadre's figures in a handful.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from buildings.models import (
    Area,
    Building,
    District,
    Dwelling,
    Elevator,
    Estate,
    Neighbourhood,
    Subdistrict,
)
from buildings.permissions import MANAGE
from buildings.selectors import elevators_due
from core.scoping import scope_for

from .models import RoleAssignment

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


# --- the registry -----------------------------------------------------------------------


def residents_visible_to(*, user, perm: str = MANAGE):
    """Residents in the user's scope, with what list pages show (no N+1)."""
    from .models import Resident

    return scope_for(user, perm).filter(
        Resident.objects.select_related(
            "household", "dwelling", "building", "estate"
        ).prefetch_related("care_tags")
    )


def households_visible_to(*, user, perm: str = MANAGE):
    from .models import Household

    return scope_for(user, perm).filter(
        Household.objects.select_related("dwelling", "building", "estate", "head")
    )


def access_resident(*, user, pk, perm: str = MANAGE):
    """The resident if the user may see it; Http404 for missing and forbidden alike."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(residents_visible_to(user=user, perm=perm), pk=pk)


def access_household(*, user, pk, perm: str = MANAGE):
    from django.shortcuts import get_object_or_404

    return get_object_or_404(households_visible_to(user=user, perm=perm), pk=pk)
