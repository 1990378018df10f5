"""Registry workbooks: the export, the import template (both in the import's columns).

:func:`write_export` writes residents (a scoped queryset) a chunk of rows at a time
with the one XLSX writer (``core.tables.xlsx``: safe text cells), so an export with
full values can be imported again and reads back unchanged. Identifiers are masked
unless the user holds ``residents.view_full_identity`` and asks for full values;
every export writes an audit record, and one with full values names each resident it
held (so the resident sees it on /me/data/).
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict

from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from buildings.models import Dwelling
from buildings.permissions import MANAGE
from core.scoping import scope_for
from core.tables.xlsx import XlsxBook

from .. import events
from ..idnumbers import compose_id_number
from ..models import CareTag, IdType, Relation, ResidenceStatus, Resident
from ..permissions import require_full_identity
from .columns import (
    COLUMNS,
    GENDER_NAMES,
    ID_TYPE_NAMES,
    NO,
    RELATION_NAMES,
    SHEET_TITLE,
    STATUS_NAMES,
    YES,
    canonical,
)

EXPORT_CHUNK = 2000
# Coded columns: the template's drop-down lists and the 说明 sheet name their values.
LIST_VALIDATIONS = {
    "id_type": ID_TYPE_NAMES,
    "gender": GENDER_NAMES,
    "relation": RELATION_NAMES,
    "residence_status": STATUS_NAMES,
    "lives_alone": {True: (YES,), False: (NO,)},
}
TEXT_COLUMNS = ("building", "room", "id_number", "phone")
DATE_COLUMNS = ("birth_date", "moved_in", "moved_out")
TEMPLATE_ROWS = 5000  # rows the drop-down lists cover


# --- the template ------------------------------------------------------------------------------


def template_workbook(*, user) -> bytes:
    """The import template: the header row, one example row, drop-down lists and a 说明 sheet."""
    book = XlsxBook()
    sheet = book.sheet(SHEET_TITLE, widths=[column.width for column in COLUMNS], freeze_header=True)
    for index, column in enumerate(COLUMNS, start=1):
        if column.key in TEXT_COLUMNS:  # keep long numbers and leading zeros as typed
            sheet.column_format(index, "@")
        elif column.key in DATE_COLUMNS:
            sheet.column_format(index, "yyyy-mm-dd")
        names = LIST_VALIDATIONS.get(column.key)
        if names:
            letter = get_column_letter(index)
            choices = ",".join(spellings[0] for spellings in names.values())
            validation = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
            validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
            sheet.worksheet.data_validations.append(validation)
    sheet.append([column.header for column in COLUMNS], bold=True)
    sheet.append(_example_row(user))

    notes = book.sheet("说明", widths=[12, 18, 8, 90])
    notes.append([_("Column"), "English", _("Required"), _("What to write")], bold=True)
    tag_names = "、".join(CareTag.objects.filter(active=True).values_list("name", flat=True))
    for column in COLUMNS:
        what = [str(column.label)]
        if column.key in LIST_VALIDATIONS:
            what.append("、".join(s[0] for s in LIST_VALIDATIONS[column.key].values()))
        if column.key == "care_tags" and tag_names:
            what.append(tag_names)
        if column.help:
            what.append(str(column.help))
        notes.append(
            [column.header, column.english, YES if column.required else "", " · ".join(what)]
        )
    notes.append([])
    for line in (
        _("One row per person; the rows of one dwelling form one household."),
        _("A blank cell keeps what the registry already holds."),
        _("Importing the same file again changes nothing: people are matched by document number."),
        _("Delete the example row before importing."),
    ):
        notes.append([line])
    return book.to_bytes()


def _example_row(user) -> list:
    """An example in one of the user's own dwellings, with a well-formed made-up ID number."""
    dwelling = (
        scope_for(user, MANAGE)
        .filter(Dwelling.objects.select_related("building__estate"))
        .order_by("estate__name", "building__number", "room")
        .first()
    )
    if dwelling is not None:
        place = [dwelling.building.estate.name, dwelling.building.number, dwelling.room]
    else:
        place = ["幸福小区", "1号楼", "101"]
    tag = CareTag.objects.filter(active=True).values_list("name", flat=True).first() or ""
    example = {
        "name": "张三",
        "id_type": canonical(ID_TYPE_NAMES, IdType.RESIDENT_ID),
        "id_number": compose_id_number("319999", datetime.date(1958, 3, 15), 11),
        "phone": "13800138000",
        "relation": canonical(RELATION_NAMES, Relation.HEAD),
        "residence_status": canonical(STATUS_NAMES, ResidenceStatus.REGISTERED),
        "nationality": "CN",
        "care_tags": tag,
        "lives_alone": NO,
        "moved_in": datetime.date(2010, 5, 1),
    }
    values = dict(zip(("estate", "building", "room"), place, strict=True), **example)
    return [values.get(column.key) for column in COLUMNS]


# --- export ------------------------------------------------------------------------------------


def export_values(resident: Resident, *, full: bool) -> list:
    """One resident as a row of the import's columns (masked identifiers unless ``full``)."""
    if full:
        id_number, phone = resident.decrypt_identifier(), resident.decrypt_phone()
    else:
        id_number, phone = resident.masked_id, resident.masked_phone
    values = {
        "estate": resident.estate.name,
        "building": resident.building.number,
        "room": resident.dwelling.room,
        "name": resident.name,
        "id_type": canonical(ID_TYPE_NAMES, resident.id_type),
        "id_number": id_number,
        "gender": canonical(GENDER_NAMES, resident.gender) if resident.gender else "",
        "birth_date": resident.birth_date,
        "phone": phone,
        "relation": canonical(RELATION_NAMES, resident.relation),
        "residence_status": canonical(STATUS_NAMES, resident.residence_status),
        "nationality": resident.nationality,
        "care_tags": "、".join(tag.name for tag in resident.care_tags.all()),
        "lives_alone": YES if resident.lives_alone else NO,
        "moved_in": resident.moved_in,
        "moved_out": resident.moved_out,
    }
    return [values[column.key] for column in COLUMNS]


def write_export(*, user, queryset, full: bool = False, fileobj, ip: str | None = None) -> int:
    """Write ``queryset`` (already scoped, with places joined and tags prefetched) as XLSX to
    ``fileobj``; full identifiers only with ``residents.view_full_identity``. Audited."""
    if full:
        require_full_identity(user)
    book = XlsxBook()
    sheet = book.sheet(SHEET_TITLE, widths=[column.width for column in COLUMNS])
    sheet.append([column.header for column in COLUMNS])
    counts: Counter = Counter()
    contained: defaultdict[int | None, list[int]] = defaultdict(list)  # full values: who
    for resident in queryset.iterator(chunk_size=EXPORT_CHUNK):
        sheet.append(export_values(resident, full=full))
        counts[resident.neighbourhood_id] += 1
        if full:
            contained[resident.neighbourhood_id].append(resident.pk)
    book.save(fileobj)
    if not counts:
        scope = scope_for(user, MANAGE)
        only = next(iter(scope.neighbourhood_ids)) if len(scope.neighbourhood_ids) == 1 else None
        counts[only] = 0
    for neighbourhood_id, rows in sorted(counts.items(), key=lambda item: item[0] or 0):
        events.registry_exported(
            actor=user,
            neighbourhood_id=neighbourhood_id,
            rows=rows,
            masked=not full,
            ip=ip,
            resident_ids=contained.get(neighbourhood_id, ()),
        )
    return sum(counts.values())
