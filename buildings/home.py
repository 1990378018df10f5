"""The signed-in home page's content, as plain values cached per user.

The page shows the user's role places, the homes they own and, for a cadre, the place
counts and the elevators whose inspection is due. Worked out from the database that is
five to seven queries and a few hundred model instances; it changes only when a place,
an ownership or the user's grants change. So :func:`home_for` keeps it in the shared
cache as plain values (strings, numbers, dates), one entry per user, language-free
(labels are looked up when the page renders), holding the two versions it was made at:

* the place version of :mod:`buildings.selectors`, replaced on every save, delete or
  move of a neighbourhood, estate, building, dwelling or elevator, and on every change of
  a dwelling's owners (connected in ``BuildingsConfig.ready``);
* the user's scope version of :mod:`core.scoping`, replaced on every grant and revoke.

A hit costs one cache round trip (the two versions and the entry in one ``get_many``)
and no query. The entry also dies at midnight (the due list depends on the date: the
date is in the key) and after ``LINLI_HOME_COUNTS_SECONDS``, which bounds staleness
when a bulk write bypassed the signals. With the cache away everything is read from the
database, as before.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import Role
from core import scoping

from . import selectors
from .selectors import (
    _PLACE_VERSION_KEY,
    HOME_COUNTS_SECONDS,
    INSPECTION_WARNING_DAYS,
    _cache,
    _place_version,
    cadre_overview_for,
    owned_dwellings_for,
    role_places_for,
)

_ENTRY_KEY = "linli.home.page"
_WHAT = "home page"


@dataclass(frozen=True)
class HomePlace:
    role: str
    path: tuple[str, ...]

    @property
    def role_label(self) -> str:
        return Role(self.role).label


@dataclass(frozen=True)
class HomeDwelling:
    path: tuple[str, ...]
    floor_area: object


@dataclass(frozen=True)
class DueElevator:
    pk: int
    where: str
    device_code: str
    due: datetime.date
    overdue: bool
    admin_url: str | None


@dataclass(frozen=True)
class Overview:
    estates: int
    buildings: int
    dwellings: int
    elevators: int
    due_elevators: tuple[DueElevator, ...] = ()
    due_total: int = 0
    warning_days: int = INSPECTION_WARNING_DAYS


@dataclass(frozen=True)
class HomePage:
    role_places: list[HomePlace] = field(default_factory=list)
    dwellings: list[HomeDwelling] = field(default_factory=list)
    overview: Overview | None = None


def _admin_change_url(obj) -> str | None:
    opts = obj._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:  # the model is not in the admin
        return None


def _read(user, today: datetime.date) -> HomePage:
    """The page's content from the database (the selectors), as plain values."""
    places = [
        HomePlace(role=item.role, path=tuple(str(place) for place in item.path))
        for item in role_places_for(user=user)
    ]
    dwellings = [
        HomeDwelling(
            path=(
                dwelling.neighbourhood.name,
                dwelling.building.estate.name,
                dwelling.building.number,
                dwelling.room,
            ),
            floor_area=dwelling.floor_area,
        )
        for dwelling in owned_dwellings_for(user=user)
    ]
    found = cadre_overview_for(user=user, today=today)
    overview = None
    if found is not None:
        overview = Overview(
            estates=found.estates,
            buildings=found.buildings,
            dwellings=found.dwellings,
            elevators=found.elevators,
            due_elevators=tuple(
                DueElevator(
                    pk=elevator.pk,
                    where=f"{elevator.building.estate.name} {elevator.building.number}",
                    device_code=elevator.device_code,
                    due=elevator.next_inspection_due,
                    overdue=elevator.next_inspection_due < today,
                    admin_url=_admin_change_url(elevator),
                )
                for elevator in found.due_elevators
            ),
            due_total=found.due_total,
            warning_days=found.warning_days,
        )
    return HomePage(role_places=places, dwellings=dwellings, overview=overview)


def home_for(*, user, today: datetime.date | None = None) -> HomePage:
    """What the signed-in home page shows ``user`` (see the module docstring)."""
    today = today or timezone.localdate()
    cache, guard = _cache()
    joined = getattr(user, "date_joined", None)
    stamp = int(joined.timestamp() * 1_000_000) if joined is not None else ""
    entry_key = f"{_ENTRY_KEY}:{user.pk}:{stamp}:{today.isoformat()}"
    user_key = scoping._user_version_key(user.pk)
    found = guard.call(
        _WHAT, cache.get_many, [_PLACE_VERSION_KEY, user_key, entry_key], default=None
    )
    if found is None:  # the cache is away
        return _read(user, today)
    place_version = found.get(_PLACE_VERSION_KEY) or _place_version(cache, guard)
    versions = (place_version, found.get(user_key))
    entry = found.get(entry_key)
    if entry is not None and entry[0] == versions:
        return entry[1]
    page = _read(user, today)
    if place_version is not None:
        seconds = getattr(settings, "LINLI_HOME_COUNTS_SECONDS", HOME_COUNTS_SECONDS)
        guard.call(_WHAT, cache.set, entry_key, (versions, page), seconds)
    return page


def owners_changed(**_signal) -> None:
    """Receiver of ``Dwelling.owners`` changes: the homes listed may differ."""
    selectors.place_counts_changed()
