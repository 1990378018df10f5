"""One row of a registry file, read on its own: values parsed and checked, cell by cell.

:class:`RowParsing` is the part of the :class:`~residents.registry_io.planning.Planner`
that turns a row's cells into a :class:`PlannedRow` (``None``: the cell is blank, keep
what the registry holds), reporting each bad cell as a row error. The values go
through the services' own normalisers (``normalise_identifier``: GB 11643 and
document numbers; ``normalise_phone``; ``validate_resident_name``); the place cells are
checked by ``core.text``'s rule for text (no control or invisible characters).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.tables.cells import cell_text, is_blank
from core.tables.reading import normalise_key
from core.text import NameSearchKeys, name_search_keys, text_problem

from ..idnumbers import mask_id_number
from ..models import CareTag, Gender, IdType, Relation, ResidenceStatus
from ..models.registry import identifier_hash
from ..services.registry import normalise_identifier, normalise_phone, validate_resident_name
from .columns import (
    BOOLEAN_NAMES,
    COUNTRY_NAMES,
    GENDER_NAMES,
    ID_TYPE_NAMES,
    NO_TAGS,
    RELATION_NAMES,
    STATUS_NAMES,
    value_lookup,
)

# Rows written (and identifiers looked up) per query.
BATCH = 1000
_TAG_SPLIT = re.compile(r"[,，、;；/|]+")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


def chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@lru_cache(maxsize=50_000)
def search_keys(name: str) -> NameSearchKeys:
    return name_search_keys(name)


def messages_of(exc: ValidationError, *keys: str) -> list[str]:
    if hasattr(exc, "error_dict"):
        found = [m for key in keys for m in exc.message_dict.get(key, [])]
        return found or exc.messages
    return exc.messages


def _unknown(value: str, names: dict) -> str:
    return _("Unknown value “%(value)s”. Use one of: %(choices)s.") % {
        "value": value,
        "choices": "、".join(spellings[0] for spellings in names.values()),
    }


class PlannedRow:
    """One row of the file: what it says (None: blank, keep) and what will happen to it."""

    __slots__ = (
        "number",
        "bad",
        "place_text",
        "name",
        "id_type",
        "id_number",
        "id_hash",
        "gender",
        "birth_date",
        "phone",
        "relation",
        "residence_status",
        "nationality",
        "tags",
        "lives_alone",
        "moved_in",
        "moved_out",
        "place",
        "existing",
        "resident_id",
        "household",
        "move",
        "final_relation",
        "changes",
    )

    def __init__(self, number: int):
        for name in self.__slots__:
            setattr(self, name, None)
        self.number = number
        self.bad = False
        self.move = False
        self.changes = []

    @property
    def is_new(self) -> bool:
        return self.existing is None

    @property
    def masked_id(self) -> str:
        if not self.id_number:
            return ""
        prefix = self.id_number[:3] if self.id_type == IdType.RESIDENT_ID else ""
        return mask_id_number(self.id_number[-4:], prefix)


class RowParsing:
    """Parsing the rows (a part of the Planner: needs ``error``, ``table``, ``today``)."""

    def _lookups(self) -> None:
        self.id_types = value_lookup(ID_TYPE_NAMES, IdType.choices)
        self.relations = value_lookup(RELATION_NAMES, Relation.choices)
        self.statuses = value_lookup(STATUS_NAMES, ResidenceStatus.choices)
        self.genders = value_lookup(GENDER_NAMES, Gender.choices)
        self.booleans = value_lookup(BOOLEAN_NAMES)
        self.countries = value_lookup(COUNTRY_NAMES)
        self.tags = {}
        for pk, code, name in CareTag.objects.filter(active=True).values_list("pk", "code", "name"):
            self.tags[normalise_key(code)] = pk
            self.tags[normalise_key(name)] = pk
            self.tag_names[pk] = name

    # --- one row, on its own
    def _parse(self, number: int, cells: tuple) -> PlannedRow:
        row = PlannedRow(number)
        positions = self.table.positions

        def raw(key):
            index = positions.get(key)
            return cells[index] if index is not None and index < len(cells) else None

        def text(key):
            return cell_text(raw(key))

        # the place
        place = tuple(text(key) for key in ("estate", "building", "room"))
        usable = True
        for key, value in zip(("estate", "building", "room"), place, strict=True):
            if not value:
                self.error(row, key, _("This cell is required."))
            elif (problem := text_problem(value)) is not None:
                self.error(row, key, problem)
                usable = False
        if all(place) and usable:
            row.place_text = place

        # name
        try:
            row.name = validate_resident_name(text("name"))
        except ValidationError as exc:
            self.error(row, "name", " ".join(messages_of(exc, "name")))

        # identity document
        id_type = IdType.RESIDENT_ID
        if text("id_type"):
            id_type = self.id_types.get(normalise_key(text("id_type")))
            if id_type is None:
                self.error(row, "id_type", _unknown(text("id_type"), ID_TYPE_NAMES))
        row.id_type = id_type
        info = None
        number_raw = raw("id_number")
        number_text = text("id_number")
        if isinstance(number_raw, float) and abs(number_raw) >= 1e11:
            self.error(
                row,
                "id_number",
                _(
                    "Excel stored this number as a number and lost its last digits. Format the "
                    "column as text (文本) and type the number again."
                ),
            )
        elif "*" in number_text:
            self.error(
                row,
                "id_number",
                _("This number is masked; the import needs the whole number."),
            )
        elif not number_text:
            self.error(
                row,
                "id_number",
                _("Enter the document number: it identifies the person when a file is imported."),
            )
        elif id_type is not None:
            try:
                row.id_number, info = normalise_identifier(id_type, number_text)
            except ValidationError as exc:
                self.error(row, "id_number", " ".join(messages_of(exc, "id_number", "id_type")))
            else:
                row.id_hash = identifier_hash(id_type, row.id_number)

        # gender and birth date: stated by an ID number, given for other documents
        gender = text("gender")
        if gender:
            row.gender = self.genders.get(normalise_key(gender))
            if row.gender is None:
                self.error(row, "gender", _unknown(gender, GENDER_NAMES))
        birth = self._date(row, "birth_date", raw("birth_date"))
        if birth is not None and birth > self.today:
            self.error(row, "birth_date", _("A date of birth cannot be in the future."))
        row.birth_date = birth
        if info is not None:
            if row.gender and row.gender != info.gender:
                self.error(row, "gender", _("This does not match the gender the ID number states."))
            if birth and birth != info.birth_date:
                self.error(
                    row,
                    "birth_date",
                    _("This does not match the date of birth in the ID number (%(date)s).")
                    % {"date": info.birth_date.isoformat()},
                )
            row.gender, row.birth_date = info.gender, info.birth_date

        # phone (masked means: keep what the registry holds)
        phone = text("phone")
        if phone and "*" not in phone:
            try:
                row.phone = normalise_phone(phone)
            except ValidationError as exc:
                self.error(row, "phone", " ".join(messages_of(exc, "phone")))

        # coded values
        for key, lookup, names in (
            ("relation", self.relations, RELATION_NAMES),
            ("residence_status", self.statuses, STATUS_NAMES),
        ):
            value = text(key)
            if value:
                found = lookup.get(normalise_key(value))
                if found is None:
                    self.error(row, key, _unknown(value, names))
                setattr(row, key, found)
        nationality = text("nationality")
        if nationality:
            code = nationality.upper()
            row.nationality = (
                code if _COUNTRY_CODE.match(code) else self.countries.get(normalise_key(code))
            )
            if row.nationality is None:
                self.error(
                    row,
                    "nationality",
                    _("Unknown country “%(value)s”: use a two-letter code such as CN, US or JP.")
                    % {"value": nationality},
                )
        alone = text("lives_alone")
        if alone:
            row.lives_alone = self.booleans.get(normalise_key(alone))
            if row.lives_alone is None:
                self.error(row, "lives_alone", _("Write 是 (yes) or 否 (no)."))

        # care tags
        tags_text = text("care_tags")
        if tags_text:
            if tags_text.lower() in NO_TAGS:
                row.tags = frozenset()
            else:
                found, unknown = set(), []
                for part in _TAG_SPLIT.split(tags_text):
                    part = part.strip()
                    if not part:
                        continue
                    pk = self.tags.get(normalise_key(part))
                    if pk is None:
                        unknown.append(part)
                    else:
                        found.add(pk)
                if unknown:
                    self.error(
                        row,
                        "care_tags",
                        _("Unknown care tag: %(tags)s. The care tags are: %(known)s.")
                        % {
                            "tags": "、".join(unknown),
                            "known": "、".join(sorted(set(self.tag_names.values()))) or "-",
                        },
                    )
                row.tags = frozenset(found)

        # dates
        row.moved_in = self._date(row, "moved_in", raw("moved_in"))
        row.moved_out = self._date(row, "moved_out", raw("moved_out"))
        if row.moved_in and row.moved_out and row.moved_out < row.moved_in:
            self.error(row, "moved_out", _("Moving out cannot be before moving in."))
        return row

    def _date(self, row: PlannedRow, key: str, value) -> datetime.date | None:
        if is_blank(value):
            return None
        if isinstance(value, datetime.datetime):
            day = value.date()
        elif isinstance(value, datetime.date):
            day = value
        else:
            text = cell_text(value)
            match = _DATE.match(text) or _COMPACT_DATE.match(text)
            try:
                day = datetime.date(*(int(part) for part in match.groups())) if match else None
            except ValueError:
                day = None
            if day is None:
                self.error(row, key, _("Not a date: write it like 2020-03-15."))
                return None
        if day.year < 1900 or day > self.today + datetime.timedelta(days=366):
            self.error(row, key, _("This date is not possible."))
            return None
        return day
