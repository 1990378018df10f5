"""Reads over the place tree, already scoped to the user who asks, and what the home
page shows: the places a user holds a role on, their dwellings and a cadre's figures.

Every list here costs a fixed number of queries, whatever the number of places a user
holds: role places are fetched one query per kind of place (at most six), dwellings in
one query, a cadre's figures in a handful. A cadre's place counts are one query, kept in
the cache for ``LINLI_HOME_COUNTS_SECONDS`` under the scope and a place version that
every place change bumps (:func:`place_counts_changed`).
"""

from __future__ import annotations

import datetime
import hashlib
import re
import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, Q, QuerySet, Value
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import RoleAssignment
from core.redis import guard_for
from core.scoping import Scope, scope_for

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


# --- a cadre's place counts, cached --------------------------------------------------

# How long a scope's place counts are kept (default of settings.LINLI_HOME_COUNTS_SECONDS).
HOME_COUNTS_SECONDS = 300
# What the counts are of, in the order of PlaceCounts' fields.
_COUNTED = (Estate, Building, Dwelling, Elevator)
_PLACE_VERSION_KEY = "linli.places.version"
_COUNTS_KEY = "linli.home.counts"
_WHAT = "home page counts"


@dataclass(frozen=True)
class PlaceCounts:
    estates: int
    buildings: int
    dwellings: int
    elevators: int


def _cache():
    return caches[DEFAULT_CACHE_ALIAS], guard_for(DEFAULT_CACHE_ALIAS)


def _bump_place_version() -> None:
    cache, guard = _cache()
    guard.call(_WHAT, cache.set, _PLACE_VERSION_KEY, uuid.uuid4().hex, None)


def place_counts_changed(**kwargs) -> None:
    """Receiver of place saves, deletes and moves (connected in ``BuildingsConfig.ready``).

    Every cached count becomes stale at once: the place version they are keyed by is
    replaced now and again when the transaction commits, so counts cached meanwhile from
    a snapshot before the commit are not read afterwards. With the cache away the bump
    is lost; entries made before it expire after ``LINLI_HOME_COUNTS_SECONDS``.
    """
    _bump_place_version()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_bump_place_version)


def _place_version(cache, guard) -> str | None:
    """The current place version, or None when the cache is away (nothing is cached)."""
    version = guard.call(_WHAT, cache.get, _PLACE_VERSION_KEY)
    if version is None and not guard.is_open:
        # not set yet (or evicted): the first one wins
        version = uuid.uuid4().hex
        if not guard.call(_WHAT, cache.add, _PLACE_VERSION_KEY, version, None, default=False):
            version = guard.call(_WHAT, cache.get, _PLACE_VERSION_KEY)
    return version


def _scope_digest(scope: Scope) -> str:
    if scope.everything:
        text = "all"
    else:
        kinds = (scope.neighbourhood_ids, scope.estate_ids, scope.building_ids)
        text = "|".join(",".join(map(str, sorted(ids))) for ids in kinds)
    return hashlib.sha256(text.encode()).hexdigest()


def _count_places(scope: Scope) -> PlaceCounts:
    """The scope's estates, buildings, dwellings and elevators, in one query.

    Each count is one indexed scan of the denormalised place ids (``scope.filter``);
    a kind the scope cannot reach is left out of the union and counts 0.
    """
    parts = [
        scope.filter(model.objects.all())
        .order_by()
        .annotate(kind=Value(index, output_field=IntegerField()))
        .values("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
        for index, model in enumerate(_COUNTED)
    ]
    counts = [0] * len(_COUNTED)
    for kind, n in parts[0].union(*parts[1:], all=True):
        counts[kind] = n
    return PlaceCounts(*counts)


def place_counts_for(scope: Scope) -> PlaceCounts:
    """The place counts of ``scope``: from the cache, or one query (then cached).

    Exact after every place change (the entry holds the place version it was counted
    at, and a change replaces the version); without the cache the query runs every time.
    """
    cache, guard = _cache()
    version = _place_version(cache, guard)
    if version is None:
        return _count_places(scope)
    # one entry per scope, holding the version it was counted at (no stale entries pile up)
    key = f"{_COUNTS_KEY}:{_scope_digest(scope)}"
    cached = guard.call(_WHAT, cache.get, key)
    if cached is not None and cached[0] == version:
        return PlaceCounts(*cached[1])
    counts = _count_places(scope)
    seconds = getattr(settings, "LINLI_HOME_COUNTS_SECONDS", HOME_COUNTS_SECONDS)
    value = (counts.estates, counts.buildings, counts.dwellings, counts.elevators)
    guard.call(_WHAT, cache.set, key, (version, value), seconds)
    return counts


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

    The place counts come from :func:`place_counts_for` (cached). Elevators listed are
    those whose annual inspection is overdue or due within ``INSPECTION_WARNING_DAYS``,
    soonest first, always read fresh (an indexed range on ``next_inspection_due``); the
    total is counted only when the list is cut.
    """
    scope = scope_for(user, MANAGE)
    if scope.is_empty:
        return None
    today = today or timezone.localdate()
    counts = place_counts_for(scope)
    due = elevators_due(user=user, within_days=INSPECTION_WARNING_DAYS, today=today)
    shown = list(due[:DUE_ELEVATORS_SHOWN])
    return CadreOverview(
        estates=counts.estates,
        buildings=counts.buildings,
        dwellings=counts.dwellings,
        elevators=counts.elevators,
        due_elevators=shown,
        due_total=due.count() if len(shown) == DUE_ELEVATORS_SHOWN else len(shown),
        today=today,
    )


# --- who holds a role on a place ---------------------------------------------------------


def role_holders(*, grants) -> QuerySet[RoleAssignment]:
    """The role assignments of active users matching any ``(role, place model, place ids)``
    of ``grants``, with the user joined: one query, whatever the number of places.

    ``place ids`` may be a list or a queryset of ids (a subquery, so that a large set of
    places never travels as parameters). The roles are taken as granted: a cadre on a
    subdistrict is found by asking for ``(Role.CADRE, Subdistrict, ids)``.
    """
    condition = Q(pk__in=[])
    for role, model, ids in grants:
        place_type = ContentType.objects.get_for_model(model)
        condition |= Q(role=role, place_type=place_type, place_id__in=ids)
    return (
        RoleAssignment.objects.filter(condition, user__is_active=True)
        .select_related("user")
        .order_by("user_id", "role", "place_type_id", "place_id")
    )
