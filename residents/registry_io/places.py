"""Where each row's person lives and who they are: dwellings and registered people.

:class:`PlacePlanning` is the part of the Planner that finds each row's dwelling by
estate name, building number and room among the importing user's places, and matches
rows to registered people by the keyed hash of their document number - a few queries
for the whole file, never one per row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from django.utils.translation import gettext as _

from buildings.models import Building, Dwelling, Estate
from core.tables.cells import cell_text

from ..models import Resident
from ..rules import IMPORT_FIELDS
from ..services.registry import identifier_unusable_message
from .rows import chunks

_BUILDING_SUFFIX = re.compile(r"(号楼|号|幢|栋|座|楼)$")

# What is read of a registered person to compare with their row.
SNAPSHOT = (
    "pk",
    "id_hash",
    "household_id",
    "dwelling_id",
    "building_id",
    "estate_id",
    "neighbourhood_id",
    "phone_hash",
    *IMPORT_FIELDS,
)


@dataclass(frozen=True)
class Place:
    pk: int
    building_id: int
    estate_id: int
    neighbourhood_id: int

    @property
    def ids(self) -> dict[str, int]:
        """The place ids as ``Scope.covers`` takes them."""
        return {
            "neighbourhood_id": self.neighbourhood_id,
            "estate_id": self.estate_id,
            "building_id": self.building_id,
        }


def _building_candidates(text: str) -> list[str]:
    """楼号 as typed, then the usual spellings of the same number (1 → 1号楼, 1栋 → 1号楼)."""
    base = _BUILDING_SUFFIX.sub("", text)
    found = [text]
    for candidate in (base, f"{base}号楼", f"{base}号", f"{base}幢", f"{base}栋"):
        if base and candidate not in found:
            found.append(candidate)
    return found


def _no_estate(name: str) -> str:
    return _("There is no estate called “%(name)s”.") % {"name": name}


def _no_building(estate: str, building: str) -> str:
    return _("Estate “%(estate)s” has no building “%(building)s”.") % {
        "estate": estate,
        "building": building,
    }


class PlacePlanning:
    """Places and people (a part of the Planner: needs ``rows``, ``scope``, ``error``)."""

    def _places(self) -> None:
        """Find each row's dwelling among the user's places: a few queries for the whole file."""
        rows = [row for row in self.rows if row.place_text]
        names = sorted({row.place_text[0] for row in rows})
        found: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for chunk in chunks(names):
            # Unscoped, so that an estate reached through a building grant is found; an
            # estate outside the user's places is then reported as unknown, exactly like
            # one that does not exist (an answer never tells what exists elsewhere).
            for pk, name, neighbourhood_id in Estate.objects.filter(name__in=chunk).values_list(
                "pk", "name", "neighbourhood_id"
            ):
                found[name].append((pk, neighbourhood_id))
        granted_estates = set(self.scope.estate_ids)
        if self.scope.building_ids:
            granted_estates.update(
                Building.objects.filter(pk__in=sorted(self.scope.building_ids)).values_list(
                    "estate_id", flat=True
                )
            )
        estate_of: dict[str, int | str] = {}
        for name in names:
            candidates = found.get(name, [])
            mine = [
                pk
                for pk, neighbourhood_id in candidates
                if self.scope.everything
                or neighbourhood_id in self.scope.neighbourhood_ids
                or pk in granted_estates
            ]
            if len(mine) == 1:
                estate_of[name] = mine[0]
            elif mine:
                estate_of[name] = _(
                    "Several estates in your places are called “%(name)s”; ask the "
                    "administrator to make their names distinct."
                ) % {"name": name}
            else:  # none, or only outside the user's places: the same answer
                estate_of[name] = _no_estate(name)
        estate_ids = sorted({v for v in estate_of.values() if isinstance(v, int)})
        buildings: dict[tuple[int, str], tuple[int, int]] = {}
        for chunk in chunks(estate_ids):
            for pk, estate_id, number, neighbourhood_id in Building.objects.filter(
                estate_id__in=chunk
            ).values_list("pk", "estate_id", "number", "neighbourhood_id"):
                buildings[(estate_id, cell_text(number))] = (pk, neighbourhood_id)
        wanted_buildings = set()
        for row in rows:
            estate = estate_of[row.place_text[0]]
            if isinstance(estate, int):
                for candidate in _building_candidates(row.place_text[1]):
                    if (estate, candidate) in buildings:
                        wanted_buildings.add(buildings[(estate, candidate)][0])
                        break
        dwellings: dict[tuple[int, str], Place] = {}
        for chunk in chunks(sorted(wanted_buildings), 500):
            for pk, building_id, room, estate_id, neighbourhood_id in Dwelling.objects.filter(
                building_id__in=chunk
            ).values_list("pk", "building_id", "room", "estate_id", "neighbourhood_id"):
                dwellings[(building_id, cell_text(room).upper())] = Place(
                    pk, building_id, estate_id, neighbourhood_id
                )
        for row in rows:
            estate_text, building_text, room_text = row.place_text
            estate = estate_of[estate_text]
            if not isinstance(estate, int):
                self.error(row, "estate", estate)
                continue
            building = next(
                (
                    buildings[(estate, c)]
                    for c in _building_candidates(building_text)
                    if (estate, c) in buildings
                ),
                None,
            )
            if building is None:
                self.error(row, "building", _no_building(estate_text, building_text))
                continue
            room = room_text.upper().removesuffix("室")
            place = dwellings.get((building[0], room))
            if place is None:
                self.error(
                    row,
                    "room",
                    _("Building %(building)s of “%(estate)s” has no room %(room)s.")
                    % {"estate": estate_text, "building": building_text, "room": room_text},
                )
                continue
            if not self.scope.covers(**place.ids):  # a building outside the user's grants
                self.error(row, "building", _no_building(estate_text, building_text))
                continue
            row.place = place

    def _existing(self) -> None:
        """Match rows to registered people by document hash, a query per thousand rows."""
        by_hash = {row.id_hash: row for row in self.rows if row.id_hash}
        hashes = sorted(by_hash)
        matched = []
        for chunk in chunks(hashes):
            # Unscoped on purpose: a document number is unique in the whole registry,
            # so a person registered elsewhere must be refused, not duplicated - with the
            # services' one message for a number that cannot be used, which does not say
            # whether (or where) it is registered.
            for values in Resident.objects.filter(id_hash__in=chunk).values_list(
                *SNAPSHOT, named=True
            ):
                row = by_hash[values.id_hash]
                place = Place(
                    values.dwelling_id,
                    values.building_id,
                    values.estate_id,
                    values.neighbourhood_id,
                )
                if not self.scope.covers(**place.ids):
                    self.error(row, "id_number", identifier_unusable_message())
                    continue
                row.existing = values
                row.resident_id = values.pk
                matched.append(values.pk)
        through = Resident.care_tags.through
        for chunk in chunks(sorted(matched)):
            for link_id, resident_id, tag_id in through.objects.filter(
                resident_id__in=chunk
            ).values_list("pk", "resident_id", "caretag_id"):
                self.tag_links.setdefault(resident_id, {})[tag_id] = link_id
