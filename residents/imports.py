"""Excel import and export of the registry (居民信息导入/导出), for cadres.

The file
--------
One sheet of an XLSX workbook, or a CSV file (UTF-8 with or without BOM, or GBK as
Excel in China saves it: detected), one resident per row under a header row naming
the columns (``COLUMNS``) in Chinese as the template does (小区, 楼号, 室号, 姓名,
证件号码 …) or in English (estate, building, room, name, id number …); other
columns are ignored. A dwelling is found by estate name, building number and room
among the importing user's places. The rows of one dwelling form one household (户);
the row whose relation is 户主 is its head.

A blank cell leaves what the registry holds unchanged (a new resident gets the
default), so a file with fewer columns never wipes data; a masked phone
(``138****1234``, as a masked export shows it) counts as blank.

Import: plan, then apply
------------------------
:func:`plan_import` reads every row and checks it against the registry without
writing: each bad cell becomes a :class:`RowError` (row number, column, message),
and each good row is new, changed or unchanged, people being matched by the keyed
hash of their document number. :func:`import_registry` with ``dry_run=False``
plans again (the registry may have changed since the preview) and, only when no
row is bad, writes everything in one transaction. Importing the same file again
writes nothing: no row, no history record.

Bulk writes instead of one service call per row
-----------------------------------------------
``resident_create`` costs about ten queries per person (uniqueness, place ids,
history); 100,000 rows would take the best part of an hour. The importer instead
reads in batches (places, care tags, existing people, households: a few queries per
thousand rows) and writes with ``bulk_create`` / ``bulk_update`` in batches of
``BATCH``, keeping every rule in its one place:

* values go through the services' own normalisers (``normalise_identifier``: GB
  11643 and document numbers; ``normalise_phone``; ``validate_resident_name``), identifiers
  through ``Resident.set_identifier`` / ``set_phone`` (encryption, keyed hash, last
  4), and each new or changed row through ``Model.clean_fields`` as the services'
  ``full_clean`` does; the uniqueness of document numbers is checked for the whole
  file at once (the database's unique constraint still guards a concurrent insert);
* what ``Resident.save()`` derives (pinyin and initials of the name, the place ids
  copied from the dwelling) comes from the same function
  (``core.text.name_search_keys``) and the dwelling rows already fetched;
* history is kept: simple-history's ``bulk_create_with_history`` and
  ``bulk_update_with_history`` write one history record per created or changed
  resident or household, by the importing user;
* the rare person who moved to another dwelling goes through ``resident_move``, one
  call each, so moving keeps the past exactly as everywhere else.

Export
------
:func:`write_export` writes residents (a scoped queryset) to an XLSX file with
openpyxl's write-only mode, a chunk of rows at a time, in the import's columns (an
export with full values can be imported again). Identifiers are masked unless the
user holds ``residents.view_full_identity`` and asks for full values; every export
writes an audit record.
"""

from __future__ import annotations

import base64
import codecs
import csv
import datetime
import io
import json
import re
import secrets
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache, partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from buildings.models import Building, Dwelling, Estate
from buildings.permissions import MANAGE
from core.crypto import DecryptionError, cipher
from core.scoping import Scope, scope_for
from core.text import name_search_keys

from . import events
from .idnumbers import compose_id_number, mask_id_number
from .models import (
    CareTag,
    Gender,
    Household,
    IdType,
    Relation,
    ResidenceStatus,
    Resident,
    Tenure,
)
from .models.registry import identifier_hash, phone_hash
from .permissions import require_full_identity
from .services import resident_move
from .services.registry import (
    normalise_identifier,
    normalise_phone,
    validate_resident_name,
)

# Rows written (and identifiers looked up) per query.
BATCH = 1000
# Header row: searched for among the first rows (a sheet may start with a title line).
HEADER_SEARCH_ROWS = 10
# How many new and changed rows the preview shows, and resident ids kept for the result page.
SAMPLE_SIZE = 20
RESULT_IDS = 200
EXPORT_CHUNK = 2000
SHEET_TITLE = "居民"


def max_upload_bytes() -> int:
    """Largest file accepted (settings.LINLI_IMPORT_MAX_BYTES, default 30 MB)."""
    return int(getattr(settings, "LINLI_IMPORT_MAX_BYTES", 30 * 1024 * 1024))


def max_rows() -> int:
    """Most data rows in one file (settings.LINLI_IMPORT_MAX_ROWS, default 200,000)."""
    return int(getattr(settings, "LINLI_IMPORT_MAX_ROWS", 200_000))


# --- columns -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the template's and the export's header (Chinese)
    english: str  # the English header, also accepted
    label: object  # lazy, for the instructions
    required: bool = False
    aliases: tuple[str, ...] = ()
    width: int = 12
    help: object = ""


COLUMNS: tuple[Column, ...] = (
    Column("estate", "小区", "estate", gettext_lazy("Estate"), True, ("小区名称",), 14),
    Column("building", "楼号", "building", gettext_lazy("Building"), True, ("楼栋", "楼"), 10),
    Column("room", "室号", "room", gettext_lazy("Room"), True, ("房号", "门牌号"), 8),
    Column("name", "姓名", "name", gettext_lazy("Name"), True, (), 10),
    Column(
        "id_type",
        "证件类型",
        "id type",
        gettext_lazy("Document type"),
        False,
        ("document type",),
        14,
        gettext_lazy("Blank means a resident identity card."),
    ),
    Column(
        "id_number",
        "证件号码",
        "id number",
        gettext_lazy("Document number"),
        True,
        ("身份证号", "身份证号码", "document number", "passport number"),
        22,
        gettext_lazy("Identifies the person: importing the file again updates, never duplicates."),
    ),
    Column(
        "gender",
        "性别",
        "gender",
        gettext_lazy("Gender"),
        False,
        ("sex",),
        6,
        gettext_lazy("Only for passports and permits: an ID number states it."),
    ),
    Column(
        "birth_date",
        "出生日期",
        "birth date",
        gettext_lazy("Date of birth"),
        False,
        ("date of birth",),
        12,
        gettext_lazy("Only for passports and permits: an ID number states it."),
    ),
    Column("phone", "手机号", "phone", gettext_lazy("Phone"), False, ("手机号码", "联系电话"), 14),
    Column(
        "relation",
        "与户主关系",
        "relation",
        gettext_lazy("Relation to head"),
        False,
        ("关系", "relation to head"),
        10,
        gettext_lazy("One 户主 (head) per dwelling."),
    ),
    Column(
        "residence_status",
        "居住状态",
        "residence status",
        gettext_lazy("Residence status"),
        False,
        ("人户状态", "status"),
        10,
    ),
    Column(
        "nationality",
        "国籍",
        "nationality",
        gettext_lazy("Nationality"),
        False,
        ("country",),
        8,
        gettext_lazy("A two-letter code such as CN, US, JP, or 中国. Blank means CN."),
    ),
    Column(
        "care_tags",
        "关爱标签",
        "care tags",
        gettext_lazy("Care tags"),
        False,
        ("标签", "tags"),
        16,
        gettext_lazy("Separated by 、 or commas; 无 removes every tag."),
    ),
    Column(
        "lives_alone", "独居", "lives alone", gettext_lazy("Lives alone"), False, ("是否独居",), 6
    ),
    Column(
        "moved_in",
        "迁入日期",
        "moved in",
        gettext_lazy("Moved in"),
        False,
        ("入住日期", "move-in date"),
        12,
        gettext_lazy("A date such as 2020-03-15."),
    ),
    Column(
        "moved_out",
        "迁出日期",
        "moved out",
        gettext_lazy("Moved out"),
        False,
        ("move-out date",),
        12,
        gettext_lazy("A date such as 2020-03-15."),
    ),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}
REQUIRED = tuple(column.key for column in COLUMNS if column.required)

# Accepted spellings of coded values; the first is what the template and the export write.
ID_TYPE_NAMES = {
    IdType.RESIDENT_ID: ("身份证", "居民身份证", "二代身份证", "id card"),
    IdType.PASSPORT: ("护照",),
    IdType.HMT_PERMIT: (
        "港澳台通行证",
        "港澳居民来往内地通行证",
        "台湾居民来往大陆通行证",
        "港澳台居民居住证",
        "回乡证",
        "台胞证",
    ),
    IdType.FOREIGNER_PERMIT: ("外国人永久居留证", "外国人永久居留身份证", "永居证"),
}
RELATION_NAMES = {
    Relation.HEAD: ("户主", "本人"),
    Relation.SPOUSE: ("配偶", "妻子", "丈夫", "妻", "夫"),
    Relation.CHILD: ("子女", "儿子", "女儿", "子", "女", "长子", "长女", "次子", "次女"),
    Relation.PARENT: ("父母", "父亲", "母亲", "父", "母"),
    Relation.GRANDCHILD: ("孙子女", "孙子", "孙女", "外孙", "外孙女", "外孙子"),
    Relation.GRANDPARENT: ("祖父母", "祖父", "祖母", "外祖父", "外祖母"),
    Relation.SIBLING: ("兄弟姐妹", "兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹"),
    Relation.CHILD_IN_LAW: ("儿媳/女婿", "儿媳", "女婿", "媳妇"),
    Relation.TENANT: ("租户", "租客", "承租人"),
    Relation.OTHER: ("其他", "其它"),
}
STATUS_NAMES = {
    ResidenceStatus.REGISTERED: ("户籍", "户籍人口", "人户一致"),
    ResidenceStatus.PERMANENT: ("常住", "常住人口"),
    ResidenceStatus.RENTING: ("租住", "租赁"),
    ResidenceStatus.NON_RESIDENT: ("外来", "外来人口", "流动人口"),
}
GENDER_NAMES = {Gender.MALE: ("男", "m"), Gender.FEMALE: ("女", "f")}
YES, NO = "是", "否"
BOOLEAN_NAMES = {
    True: (YES, "y", "yes", "true", "1", "√", "✓", "独居"),
    False: (NO, "n", "no", "false", "0", "×", "✗", "非独居"),
}
COUNTRY_NAMES = {
    "CN": ("中国", "中国籍", "中华人民共和国"),
    "US": ("美国",),
    "JP": ("日本",),
    "KR": ("韩国",),
    "GB": ("英国",),
    "FR": ("法国",),
    "DE": ("德国",),
    "IT": ("意大利",),
    "ES": ("西班牙",),
    "RU": ("俄罗斯",),
    "CA": ("加拿大",),
    "AU": ("澳大利亚",),
    "NZ": ("新西兰",),
    "SG": ("新加坡",),
    "MY": ("马来西亚",),
    "TH": ("泰国",),
    "VN": ("越南",),
    "PH": ("菲律宾",),
    "ID": ("印度尼西亚", "印尼"),
    "IN": ("印度",),
    "BR": ("巴西",),
    "NL": ("荷兰",),
    "SE": ("瑞典",),
    "CH": ("瑞士",),
}
NO_TAGS = ("无", "none", "-", "—")
_TAG_SPLIT = re.compile(r"[,，、;；/|]+")
_HEADER_NOISE = re.compile(r"[(（](?:必填|选填|required|optional)[)）]|[\s_\-*:：]", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_BUILDING_SUFFIX = re.compile(r"(号楼|号|幢|栋|座|楼)$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


def _key(text) -> str:
    return _HEADER_NOISE.sub("", str(text or "")).lower()


@lru_cache(maxsize=1)
def _header_lookup() -> dict[str, str]:
    lookup = {}
    for column in COLUMNS:
        for name in (column.key, column.header, column.english, *column.aliases):
            lookup[_key(name)] = column.key
    return lookup


def _value_lookup(names: dict, choices=()) -> dict[str, object]:
    """Normalised spelling -> value: the codes, the labels in the current language, aliases."""
    lookup = {}
    for value, label in choices:
        lookup[_key(value)] = value
        lookup[_key(str(label))] = value
    for value, spellings in names.items():
        for spelling in spellings:
            lookup[_key(spelling)] = value
    return lookup


def _canonical(names: dict, value) -> str:
    spellings = names.get(value)
    return spellings[0] if spellings else str(value or "")


# --- reading a file ----------------------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be imported (format, encoding, header, size)."""


@dataclass
class Table:
    """The rows of a file under its header row, with the columns understood."""

    kind: str  # "XLSX", "CSV (UTF-8)" …
    headers: list[str]
    positions: dict[str, int]  # column key -> index in a row
    ignored: list[str]  # headers not understood (their cells are ignored)
    rows: list[tuple[int, tuple]]  # (row number in the file, cells)

    def header(self, key: str) -> str:
        index = self.positions.get(key)
        return self.headers[index] if index is not None else COLUMN_BY_KEY[key].header

    def letter(self, key: str) -> str:
        index = self.positions.get(key)
        return get_column_letter(index + 1) if index is not None else ""


XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_table(data: bytes) -> Table:
    """Parse an uploaded file, recognised by its content (not its name)."""
    if not data or not data.strip():
        raise ImportFileError(_("The file is empty."))
    if len(data) > max_upload_bytes():
        raise ImportFileError(
            _("The file is larger than %(size)s MB; split it into several files.")
            % {"size": max_upload_bytes() // (1024 * 1024)}
        )
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data)
    if data.startswith(OLE_MAGIC):
        raise ImportFileError(
            _(
                "This is an old-style Excel file (.xls). In Excel choose “Save as” and save it "
                "as an Excel workbook (.xlsx) or as CSV, then upload that."
            )
        )
    text, encoding = _decode(data)
    try:
        table = _table(f"CSV ({encoding})", _csv_rows(text))
    except csv.Error as exc:
        raise ImportFileError(
            _("This file could not be read as CSV (%(error)s).") % {"error": exc}
        ) from exc
    if table is None:
        raise ImportFileError(_no_header_message())
    return table


def _read_xlsx(data: bytes) -> Table:
    damaged = _("This file could not be read as an Excel workbook (.xlsx); it may be damaged.")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of error for a damaged file
        raise ImportFileError(damaged) from exc
    try:
        for sheet in book.worksheets:
            table = _table("XLSX", sheet.iter_rows(values_only=True))
            if table is not None:
                return table
    except ImportFileError:
        raise
    except Exception as exc:  # damaged sheet XML
        raise ImportFileError(damaged) from exc
    finally:
        book.close()
    raise ImportFileError(_no_header_message())


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the name of its encoding: UTF-8 (with or without BOM), UTF-16 or GBK."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "UTF-8 BOM"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "UTF-16"
    except UnicodeDecodeError:
        pass
    else:
        try:
            return data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            pass
        try:  # GB18030 is a superset of GBK and GB2312, what Excel in China writes
            return data.decode("gb18030"), "GBK"
        except UnicodeDecodeError:
            pass
    raise ImportFileError(
        _(
            "The text encoding of this file could not be recognised. In Excel save it as "
            "“CSV UTF-8” or as an Excel workbook (.xlsx)."
        )
    )


def _csv_rows(text: str) -> Iterator[list[str]]:
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)  # a comma wins a tie
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _no_header_message() -> str:
    return _(
        "No header row was found: the first row must name the columns, such as "
        "小区, 楼号, 室号, 姓名, 证件号码. Download the template to see them all."
    )


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _table(kind: str, rows: Iterable) -> Table | None:
    """Find the header row among the first rows, then collect the non-blank rows under it."""
    lookup = _header_lookup()
    rows = iter(rows)
    for number, cells in enumerate(rows, start=1):
        if number > HEADER_SEARCH_ROWS:
            return None
        keys = [lookup.get(_key(_text(cell))) if not _blank(cell) else None for cell in cells]
        if len({k for k in keys if k}) >= 3:
            header_number = number
            break
    else:
        return None
    headers = [_text(cell) for cell in cells]
    positions: dict[str, int] = {}
    ignored = []
    for index, key in enumerate(keys):
        if key is None:
            if headers[index]:
                ignored.append(headers[index])
            continue
        if key in positions:
            raise ImportFileError(
                _("The column “%(name)s” appears twice (columns %(first)s and %(second)s).")
                % {
                    "name": headers[index],
                    "first": get_column_letter(positions[key] + 1),
                    "second": get_column_letter(index + 1),
                }
            )
        positions[key] = index
    missing = [COLUMN_BY_KEY[key].header for key in REQUIRED if key not in positions]
    if missing:
        raise ImportFileError(
            _("These columns are missing from the header row: %(columns)s.")
            % {"columns": "、".join(missing)}
        )
    width = max(positions.values()) + 1
    limit = max_rows()
    data_rows = []
    for number, cells in enumerate(rows, start=header_number + 1):
        cells = tuple(cells[:width])
        if all(_blank(cell) for cell in cells):
            continue
        if len(data_rows) >= limit:
            raise ImportFileError(
                _("The file has more than %(limit)s rows; split it into several files.")
                % {"limit": f"{limit:,}"}
            )
        data_rows.append((number, cells))
    if not data_rows:
        raise ImportFileError(_("The file has a header row but no residents under it."))
    return Table(kind=kind, headers=headers, positions=positions, ignored=ignored, rows=data_rows)


def _text(value) -> str:
    """A cell as text: numbers without a spurious ".0", dates as YYYY-MM-DD, NFKC-normalised
    (full-width digits and letters become ASCII)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


# --- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int  # the row number in the file (as Excel shows it)
    column: str  # the column's header as written in the file
    letter: str  # the column's letter (A, B …)
    value: str
    message: str


@dataclass(frozen=True)
class _Place:
    pk: int
    building_id: int
    estate_id: int
    neighbourhood_id: int


@dataclass(eq=False)
class _Household:
    pk: int | None  # None until a new household is inserted
    place: _Place | None
    head_id: int | None = None
    moved_in: datetime.date | None = None
    moved_out: datetime.date | None = None
    rows: list = field(default_factory=list)
    leaving: set = field(default_factory=set)  # residents the file moves elsewhere
    head_row: object = None
    instance: Household | None = None


# Resident fields an import may set, and those read to compare.
SETTABLE = (
    "name",
    "gender",
    "birth_date",
    "relation",
    "residence_status",
    "nationality",
    "lives_alone",
    "moved_in",
    "moved_out",
)
SNAPSHOT = (
    "pk",
    "id_hash",
    "household_id",
    "dwelling_id",
    "building_id",
    "estate_id",
    "neighbourhood_id",
    "phone_hash",
    *SETTABLE,
)
PHONE_FIELDS = ("phone_encrypted", "phone_hash", "phone_head", "phone_last4")
CLEAN_EXCLUDE = ("household", "dwelling", "building", "estate", "neighbourhood", "user")


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


@dataclass
class ImportResult:
    """What an import found (a dry run) or did, for the preview and result pages."""

    filename: str = ""
    kind: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    households_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    file_error: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    created_samples: list[dict] = field(default_factory=list)
    updated_samples: list[dict] = field(default_factory=list)
    saved: bool = False
    resident_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.file_error and not self.errors

    @property
    def has_changes(self) -> bool:
        return bool(self.created or self.updated)

    @property
    def bad_rows(self) -> int:
        return len({error.row for error in self.errors if error.row})


class _ApplyFailed(Exception):
    def __init__(self, errors):
        super().__init__("rows failed while saving")
        self.errors = errors


@lru_cache(maxsize=50_000)
def _search_keys(name: str) -> tuple[str, str]:
    return name_search_keys(name)


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _covers(scope: Scope, place: _Place) -> bool:
    return (
        scope.everything
        or place.neighbourhood_id in scope.neighbourhood_ids
        or place.estate_id in scope.estate_ids
        or place.building_id in scope.building_ids
    )


def _building_candidates(text: str) -> list[str]:
    """楼号 as typed, then the usual spellings of the same number (1 → 1号楼, 1栋 → 1号楼)."""
    base = _BUILDING_SUFFIX.sub("", text)
    found = [text]
    for candidate in (base, f"{base}号楼", f"{base}号", f"{base}幢", f"{base}栋"):
        if base and candidate not in found:
            found.append(candidate)
    return found


class Planner:
    """Checks a table against the registry as ``user`` may change it, then applies it."""

    def __init__(self, *, user, table: Table, today: datetime.date | None = None):
        self.user = user
        self.table = table
        self.today = today or timezone.localdate()
        self.scope = scope_for(user, MANAGE)
        self.errors: list[RowError] = []
        self.rows: list[PlannedRow] = []
        self.households: list[_Household] = []
        self.new_households: list[_Household] = []
        self.tag_links: dict[int, dict[int, int]] = {}  # resident -> {tag id: link id}
        self.tag_names: dict[int, str] = {}

    # --- errors
    def error(self, row: PlannedRow, key: str, message: str, value=None) -> None:
        row.bad = True
        if value is None:
            value = self._cell(row, key)
        self.errors.append(
            RowError(
                row=row.number,
                column=self.table.header(key),
                letter=self.table.letter(key),
                value=_text(value)[:100],
                message=str(message),
            )
        )

    def _cell(self, row: PlannedRow, key: str):
        cells = self._cells.get(row.number, ())
        index = self.table.positions.get(key)
        return cells[index] if index is not None and index < len(cells) else None

    # --- the whole check
    def plan(self) -> Planner:
        self._cells = dict(self.table.rows)
        self._lookups()
        self.rows = [self._parse(number, cells) for number, cells in self.table.rows]
        self._duplicates()
        self._places()
        self._existing()
        self._plan_households()
        self._plan_heads()
        self._diff()
        self.errors.sort(key=lambda error: (error.row, len(error.letter), error.letter))
        return self

    def _lookups(self) -> None:
        self.id_types = _value_lookup(ID_TYPE_NAMES, IdType.choices)
        self.relations = _value_lookup(RELATION_NAMES, Relation.choices)
        self.statuses = _value_lookup(STATUS_NAMES, ResidenceStatus.choices)
        self.genders = _value_lookup(GENDER_NAMES, Gender.choices)
        self.booleans = _value_lookup(BOOLEAN_NAMES)
        self.countries = _value_lookup(COUNTRY_NAMES)
        self.tags = {}
        for pk, code, name in CareTag.objects.filter(active=True).values_list("pk", "code", "name"):
            self.tags[_key(code)] = pk
            self.tags[_key(name)] = pk
            self.tag_names[pk] = name

    # --- one row, on its own
    def _parse(self, number: int, cells: tuple) -> PlannedRow:
        row = PlannedRow(number)
        positions = self.table.positions

        def raw(key):
            index = positions.get(key)
            return cells[index] if index is not None and index < len(cells) else None

        def text(key):
            return _text(raw(key))

        # the place
        place = tuple(text(key) for key in ("estate", "building", "room"))
        for key, value in zip(("estate", "building", "room"), place, strict=True):
            if not value:
                self.error(row, key, _("This cell is required."))
        if all(place):
            row.place_text = place

        # name
        try:
            row.name = validate_resident_name(text("name"))
        except ValidationError as exc:
            self.error(row, "name", " ".join(_messages(exc, "name")))

        # identity document
        id_type = IdType.RESIDENT_ID
        if text("id_type"):
            id_type = self.id_types.get(_key(text("id_type")))
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
                self.error(row, "id_number", " ".join(_messages(exc, "id_number", "id_type")))
            else:
                row.id_hash = identifier_hash(id_type, row.id_number)

        # gender and birth date: stated by an ID number, given for other documents
        gender = text("gender")
        if gender:
            row.gender = self.genders.get(_key(gender))
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
                self.error(row, "phone", " ".join(_messages(exc, "phone")))

        # coded values
        for key, lookup, names in (
            ("relation", self.relations, RELATION_NAMES),
            ("residence_status", self.statuses, STATUS_NAMES),
        ):
            value = text(key)
            if value:
                found = lookup.get(_key(value))
                if found is None:
                    self.error(row, key, _unknown(value, names))
                setattr(row, key, found)
        nationality = text("nationality")
        if nationality:
            code = nationality.upper()
            row.nationality = code if _COUNTRY_CODE.match(code) else self.countries.get(_key(code))
            if row.nationality is None:
                self.error(
                    row,
                    "nationality",
                    _("Unknown country “%(value)s”: use a two-letter code such as CN, US or JP.")
                    % {"value": nationality},
                )
        alone = text("lives_alone")
        if alone:
            row.lives_alone = self.booleans.get(_key(alone))
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
                    pk = self.tags.get(_key(part))
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
        if _blank(value):
            return None
        if isinstance(value, datetime.datetime):
            day = value.date()
        elif isinstance(value, datetime.date):
            day = value
        else:
            text = _text(value)
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

    # --- across rows
    def _duplicates(self) -> None:
        by_hash: dict[str, list[PlannedRow]] = defaultdict(list)
        for row in self.rows:
            if row.id_hash:
                by_hash[row.id_hash].append(row)
        for rows in by_hash.values():
            if len(rows) > 1:
                numbers = "、".join(str(r.number) for r in rows)
                for row in rows:
                    self.error(
                        row,
                        "id_number",
                        _("The same document number is on rows %(rows)s: one person, one row.")
                        % {"rows": numbers},
                    )

    def _places(self) -> None:
        """Find each row's dwelling among the user's places: a few queries for the whole file."""
        rows = [row for row in self.rows if row.place_text]
        names = sorted({row.place_text[0] for row in rows})
        found: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for chunk in _chunks(names):
            # Unscoped on purpose: to tell an estate outside the user's places from an
            # unknown one. Only estate ids and neighbourhood ids are read.
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
            elif candidates:
                estate_of[name] = _outside(name)
            else:
                estate_of[name] = _("There is no estate called “%(name)s”.") % {"name": name}
        estate_ids = sorted({v for v in estate_of.values() if isinstance(v, int)})
        buildings: dict[tuple[int, str], tuple[int, int]] = {}
        for chunk in _chunks(estate_ids):
            for pk, estate_id, number, neighbourhood_id in Building.objects.filter(
                estate_id__in=chunk
            ).values_list("pk", "estate_id", "number", "neighbourhood_id"):
                buildings[(estate_id, _text(number))] = (pk, neighbourhood_id)
        wanted_buildings = set()
        for row in rows:
            estate = estate_of[row.place_text[0]]
            if isinstance(estate, int):
                for candidate in _building_candidates(row.place_text[1]):
                    if (estate, candidate) in buildings:
                        wanted_buildings.add(buildings[(estate, candidate)][0])
                        break
        dwellings: dict[tuple[int, str], _Place] = {}
        for chunk in _chunks(sorted(wanted_buildings), 500):
            for pk, building_id, room, estate_id, neighbourhood_id in Dwelling.objects.filter(
                building_id__in=chunk
            ).values_list("pk", "building_id", "room", "estate_id", "neighbourhood_id"):
                dwellings[(building_id, _text(room).upper())] = _Place(
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
                self.error(
                    row,
                    "building",
                    _("Estate “%(estate)s” has no building “%(building)s”.")
                    % {"estate": estate_text, "building": building_text},
                )
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
            if not _covers(self.scope, place):
                self.error(row, "room", _outside(f"{estate_text} {building_text} {room_text}"))
                continue
            row.place = place

    def _existing(self) -> None:
        """Match rows to registered people by document hash, a query per thousand rows."""
        by_hash = {row.id_hash: row for row in self.rows if row.id_hash}
        hashes = sorted(by_hash)
        matched = []
        for chunk in _chunks(hashes):
            # Unscoped on purpose: a document number is unique in the whole registry,
            # so a person registered elsewhere must be refused, not duplicated.
            for values in Resident.objects.filter(id_hash__in=chunk).values_list(
                *SNAPSHOT, named=True
            ):
                row = by_hash[values.id_hash]
                place = _Place(
                    values.dwelling_id,
                    values.building_id,
                    values.estate_id,
                    values.neighbourhood_id,
                )
                if not _covers(self.scope, place):
                    self.error(
                        row,
                        "id_number",
                        _(
                            "A resident with this document number is registered in a place "
                            "you do not manage."
                        ),
                    )
                    continue
                row.existing = values
                row.resident_id = values.pk
                matched.append(values.pk)
        through = Resident.care_tags.through
        for chunk in _chunks(sorted(matched)):
            for link_id, resident_id, tag_id in through.objects.filter(
                resident_id__in=chunk
            ).values_list("pk", "resident_id", "caretag_id"):
                self.tag_links.setdefault(resident_id, {})[tag_id] = link_id

    def _plan_households(self) -> None:
        """The rows of one dwelling form one household: an existing one or a new one."""
        rows = [row for row in self.rows if row.place is not None and row.id_hash]
        dwelling_ids = sorted({row.place.pk for row in rows})
        households: dict[int, _Household] = {}
        current: dict[int, list[_Household]] = defaultdict(list)
        fields = ("pk", "dwelling_id", "head_id", "moved_in", "moved_out")
        for chunk in _chunks(dwelling_ids):
            for pk, dwelling_id, head_id, moved_in, moved_out in (
                Household.objects.filter(dwelling_id__in=chunk, moved_out__isnull=True)
                .order_by("pk")
                .values_list(*fields)
            ):
                households[pk] = _Household(pk, None, head_id, moved_in, moved_out)
                current[dwelling_id].append(households[pk])
        missing = sorted(
            {row.existing.household_id for row in rows if row.existing} - set(households)
        )
        for chunk in _chunks(missing):
            for pk, _dwelling_id, head_id, moved_in, moved_out in Household.objects.filter(
                pk__in=chunk
            ).values_list(*fields):
                households[pk] = _Household(pk, None, head_id, moved_in, moved_out)
        by_dwelling: dict[int, list[PlannedRow]] = defaultdict(list)
        for row in rows:
            by_dwelling[row.place.pk].append(row)
        for dwelling_id, members in by_dwelling.items():
            staying = [
                row for row in members if row.existing and row.existing.dwelling_id == dwelling_id
            ]
            target = next(
                (
                    households[row.existing.household_id]
                    for row in staying
                    if households[row.existing.household_id].moved_out is None
                ),
                None,
            )
            if target is None and current.get(dwelling_id):
                target = current[dwelling_id][0]
            if target is None:
                target = _Household(None, members[0].place)
                self.new_households.append(target)
            for row in members:
                if row in staying:
                    row.household = households[row.existing.household_id]
                else:
                    row.household = target
                    if row.existing:
                        row.move = True
                        households[row.existing.household_id].leaving.add(row.resident_id)
                row.household.rows.append(row)
        self.households = list(households.values()) + self.new_households

    def _plan_heads(self) -> None:
        """One head (户主) per household; a blank relation never leaves a household headless."""
        for household in self.households:
            rows = household.rows
            if not rows:
                continue
            explicit = [row for row in rows if row.relation == Relation.HEAD]
            if len(explicit) > 1:
                numbers = "、".join(str(row.number) for row in explicit)
                for row in explicit:
                    self.error(
                        row,
                        "relation",
                        _("Rows %(rows)s of the same dwelling are all 户主 (head of household).")
                        % {"rows": numbers},
                    )
                continue
            current = household.head_id
            if current in household.leaving:
                current = None
            current_row = (
                next((row for row in rows if row.resident_id == current), None) if current else None
            )
            head = explicit[0] if explicit else None
            if head is None and current is None:
                blank = [row for row in rows if row.relation is None]
                head = next(
                    (row for row in blank if row.existing and row.existing.relation == "head"),
                    None,
                ) or next((row for row in blank if row.is_new or row.move), None)
            elif head is None:
                if current_row is not None and current_row.relation not in (None, Relation.HEAD):
                    self.error(
                        current_row,
                        "relation",
                        _(
                            "This person is the head of the household (户主). To change that, "
                            "mark another member of the same dwelling as 户主."
                        ),
                    )
            elif current is not None and head.resident_id != current:
                if current_row is None:
                    self.error(
                        head,
                        "relation",
                        _(
                            "The household in this dwelling already has a head (户主) who is "
                            "not in this file: mark one head only, or list the current head "
                            "too, with their new relation."
                        ),
                    )
                elif current_row.relation is None:
                    self.error(
                        current_row,
                        "relation",
                        _(
                            "Row %(row)s makes someone else 户主: give this person (the "
                            "current head) their new relation."
                        )
                        % {"row": head.number},
                    )
            household.head_row = head
            for row in rows:
                if row.relation is not None:
                    row.final_relation = row.relation
                elif row is head:
                    row.final_relation = Relation.HEAD
                elif row.is_new or row.move:
                    row.final_relation = Relation.OTHER

    def wanted(self, row: PlannedRow) -> dict:
        """The fields an existing resident's row sets (blank cells keep the stored value)."""
        values = {
            "name": row.name,
            "gender": row.gender,
            "birth_date": row.birth_date,
            "relation": row.final_relation,
            "residence_status": row.residence_status,
            "nationality": row.nationality,
            "lives_alone": row.lives_alone,
            "moved_in": row.moved_in,
            "moved_out": row.moved_out,
        }
        return {key: value for key, value in values.items() if value is not None}

    def changed_fields(self, row: PlannedRow, get) -> list[str]:
        changed = [key for key, value in self.wanted(row).items() if get(key) != value]
        if row.phone is not None and get("phone_hash") != phone_hash(row.phone):
            changed.append("phone")
        return changed

    def _tags_change(self, row: PlannedRow) -> bool:
        if row.tags is None:
            return False
        return set(self.tag_links.get(row.resident_id, {})) != set(row.tags)

    def _diff(self) -> None:
        for row in self.rows:
            if row.existing is None or row.bad:
                continue
            row.changes = self.changed_fields(row, partial(getattr, row.existing))
            if self._tags_change(row):
                row.changes.append("care_tags")
            if row.move:
                row.changes.insert(0, "dwelling")

    # --- results
    def result(self, *, filename: str = "", saved: bool = False) -> ImportResult:
        result = ImportResult(
            filename=filename,
            kind=self.table.kind,
            rows=len(self.rows),
            errors=list(self.errors),
            ignored_columns=list(self.table.ignored),
            saved=saved,
        )
        if self.errors:
            return result
        labels = _field_labels()
        for row in self.rows:
            if row.is_new:
                result.created += 1
                if len(result.created_samples) < SAMPLE_SIZE:
                    result.created_samples.append(self._sample(row))
            elif row.changes:
                result.updated += 1
                if len(result.updated_samples) < SAMPLE_SIZE:
                    sample = self._sample(row)
                    sample["changes"] = [labels.get(c, c) for c in row.changes]
                    result.updated_samples.append(sample)
            else:
                result.unchanged += 1
            if saved and (row.is_new or row.changes) and len(result.resident_ids) < RESULT_IDS:
                result.resident_ids.append(row.resident_id)
        result.households_created = len(self.new_households)
        return result

    def _sample(self, row: PlannedRow) -> dict:
        return {
            "row": row.number,
            "name": row.name,
            "masked_id": row.masked_id,
            "place": " ".join(row.place_text or ()),
            "relation": _canonical(
                RELATION_NAMES, row.final_relation or getattr(row.existing, "relation", None)
            ),
            "tags": "、".join(self.tag_names[pk] for pk in sorted(row.tags or ())),
        }

    # --- writing
    def apply(self, *, filename: str = "", ip: str | None = None) -> None:
        """Write the plan (no bad row allowed). Call inside ``transaction.atomic``."""
        assert not self.errors, "a plan with errors is never applied"
        now = timezone.now()
        user = self.user if getattr(self.user, "pk", None) else None
        self._insert_households(user)
        self._moves()
        self._insert_residents(user)
        self._update_residents(user, now)
        self._write_tags()
        self._set_heads(user, now)
        self._audit(filename=filename, ip=ip)

    def _insert_households(self, user) -> None:
        instances = []
        for household in self.new_households:
            dated = [row.moved_in for row in household.rows if row.moved_in]
            head = household.head_row or household.rows[0]
            place = household.place
            instance = Household(
                dwelling_id=place.pk,
                building_id=place.building_id,
                estate_id=place.estate_id,
                neighbourhood_id=place.neighbourhood_id,
                tenure=Tenure.TENANT
                if head.residence_status == ResidenceStatus.RENTING
                else Tenure.OWNER,
                moved_in=min(dated) if dated else None,
            )
            instance.clean_fields(
                exclude=["dwelling", "head", "building", "estate", "neighbourhood"]
            )
            household.instance = instance
            household.moved_in = instance.moved_in
            instances.append(instance)
        # Their history records are written by _set_heads, once they have their head.
        Household.objects.bulk_create(instances, batch_size=BATCH)
        for household in self.new_households:
            household.pk = household.instance.pk

    def _moves(self) -> None:
        movers = [row for row in self.rows if row.move]
        if not movers:
            return
        residents = Resident.objects.in_bulk([row.resident_id for row in movers])
        targets = Household.objects.in_bulk(sorted({row.household.pk for row in movers}))
        failures = []
        for row in movers:
            try:
                resident_move(
                    resident=residents[row.resident_id],
                    household=targets[row.household.pk],
                    moved_on=row.moved_in or self.today,
                    by=self.user,
                )
            except ValidationError as exc:
                failures.extend(self._failure(row, exc))
        if failures:
            raise _ApplyFailed(failures)

    def _insert_residents(self, user) -> None:
        """New residents, a batch at a time (instances are dropped once inserted)."""
        through = Resident.care_tags.through
        failures = []
        for chunk in _chunks([row for row in self.rows if row.is_new]):
            residents = []
            for row in chunk:
                resident = self._new_resident(row)
                try:
                    resident.clean_fields(exclude=CLEAN_EXCLUDE)
                except ValidationError as exc:
                    failures.extend(self._failure(row, exc))
                residents.append(resident)
            if failures:  # keep checking the other rows, write nothing more
                continue
            bulk_create_with_history(residents, Resident, batch_size=BATCH, default_user=user)
            links = []
            for row, resident in zip(chunk, residents, strict=True):
                row.resident_id = resident.pk
                links.extend(
                    through(resident_id=resident.pk, caretag_id=pk) for pk in sorted(row.tags or ())
                )
            if links:
                through.objects.bulk_create(links, batch_size=BATCH)
        if failures:
            raise _ApplyFailed(failures)

    def _new_resident(self, row: PlannedRow) -> Resident:
        """An unsaved resident as ``resident_create`` would store it (see the module doc)."""
        household, place = row.household, row.place
        resident = Resident(
            household_id=household.pk,
            dwelling_id=place.pk,
            building_id=place.building_id,
            estate_id=place.estate_id,
            neighbourhood_id=place.neighbourhood_id,
            name=row.name,
            gender=row.gender or "",
            birth_date=row.birth_date,
            relation=row.final_relation or Relation.OTHER,
            residence_status=row.residence_status or ResidenceStatus.REGISTERED,
            nationality=(row.nationality or "CN").upper(),
            lives_alone=bool(row.lives_alone),
            moved_in=row.moved_in or household.moved_in,
            moved_out=row.moved_out,
        )
        resident.name_pinyin, resident.name_initials = _search_keys(row.name)
        resident.set_identifier(row.id_type, row.id_number)
        resident.set_phone(row.phone or "")
        return resident

    def _update_residents(self, user, now) -> None:
        rows = [row for row in self.rows if row.existing and row.changes]
        failures = []
        for chunk in _chunks(rows):
            instances = Resident.objects.in_bulk([row.resident_id for row in chunk])
            changed_objects, fields = [], set()
            for row in chunk:
                resident = instances[row.resident_id]
                changed = self.changed_fields(row, lambda key, r=resident: getattr(r, key))
                if not changed:
                    continue
                for key in changed:
                    if key == "phone":
                        resident.set_phone(row.phone)
                        fields.update(PHONE_FIELDS)
                    else:
                        setattr(resident, key, self.wanted(row)[key])
                        fields.add(key)
                if "name" in changed:
                    resident.name_pinyin, resident.name_initials = _search_keys(resident.name)
                    fields.update(("name_pinyin", "name_initials"))
                resident.updated_at = now
                try:
                    resident.clean_fields(exclude=CLEAN_EXCLUDE)
                except ValidationError as exc:
                    failures.extend(self._failure(row, exc))
                    continue
                changed_objects.append(resident)
            if failures:
                raise _ApplyFailed(failures)
            if changed_objects:
                bulk_update_with_history(
                    changed_objects,
                    Resident,
                    sorted(fields | {"updated_at"}),
                    batch_size=BATCH,
                    default_user=user,
                )

    def _write_tags(self) -> None:
        """Care tags of existing residents: add the missing links, remove the others."""
        through = Resident.care_tags.through
        links, stale = [], []
        for row in self.rows:
            if row.existing is None or row.tags is None:
                continue
            current = self.tag_links.get(row.resident_id, {})
            links.extend(
                through(resident_id=row.resident_id, caretag_id=pk)
                for pk in sorted(set(row.tags) - set(current))
            )
            stale.extend(link for pk, link in current.items() if pk not in row.tags)
        for chunk in _chunks(stale):
            through.objects.filter(pk__in=chunk).delete()
        if links:
            through.objects.bulk_create(links, batch_size=BATCH)

    def _set_heads(self, user, now) -> None:
        """Each household the file touches gets its planned head (moves may have changed it).

        A new household's head is its one member whose relation is 户主 (the plan makes
        sure there is at most one): one UPDATE per batch, then its history record is
        written with the head. A changed head of an existing household is a bulk update
        with a history record each.
        """
        planned: dict[int, int | None] = {}
        for household in self.households:
            if not household.rows:
                continue
            if household.head_row is not None:
                planned[household.pk] = household.head_row.resident_id
            elif household.head_id not in household.leaving:
                planned[household.pk] = household.head_id
            else:
                planned[household.pk] = None
        heads = Resident.objects.filter(
            household_id=OuterRef("pk"), relation=Relation.HEAD
        ).order_by("pk")
        for chunk in _chunks(self.new_households):
            Household.objects.filter(pk__in=[h.pk for h in chunk]).update(
                head_id=Subquery(heads.values("pk")[:1])
            )
            for household in chunk:
                household.instance.head_id = planned.get(household.pk)
            Household.history.bulk_history_create(
                [household.instance for household in chunk],
                batch_size=BATCH,
                default_user=user,
            )
        new_ids = {household.pk for household in self.new_households}
        changed = []
        for chunk in _chunks(sorted(pk for pk in planned if pk not in new_ids)):
            for instance in Household.objects.filter(pk__in=chunk):
                if instance.head_id != planned[instance.pk]:
                    instance.head_id = planned[instance.pk]
                    instance.updated_at = now
                    changed.append(instance)
        if changed:
            bulk_update_with_history(
                changed, Household, ["head", "updated_at"], batch_size=BATCH, default_user=user
            )

    def _audit(self, *, filename: str, ip: str | None) -> None:
        created, updated = Counter(), Counter()
        for row in self.rows:
            if row.is_new:
                created[row.place.neighbourhood_id] += 1
            elif row.changes:
                updated[row.place.neighbourhood_id] += 1
        for neighbourhood_id in sorted(set(created) | set(updated)):
            events.registry_imported(
                actor=self.user,
                neighbourhood_id=neighbourhood_id,
                rows=len(self.rows),
                created=created[neighbourhood_id],
                updated=updated[neighbourhood_id],
                filename=filename[:200],
                ip=ip,
            )

    def _failure(self, row: PlannedRow, exc: ValidationError) -> list[RowError]:
        errors = []
        found = exc.message_dict if hasattr(exc, "error_dict") else {"household": exc.messages}
        for key, messages in found.items():
            key = {"moved_on": "moved_in", "household": "room", "dwelling": "room"}.get(key, key)
            column = key if key in COLUMN_BY_KEY else "name"
            errors.append(
                RowError(
                    row=row.number,
                    column=self.table.header(column),
                    letter=self.table.letter(column),
                    value="",
                    message=" ".join(messages),
                )
            )
        return errors


def _messages(exc: ValidationError, *keys: str) -> list[str]:
    if hasattr(exc, "error_dict"):
        found = [m for key in keys for m in exc.message_dict.get(key, [])]
        return found or exc.messages
    return exc.messages


def _unknown(value: str, names: dict) -> str:
    return _("Unknown value “%(value)s”. Use one of: %(choices)s.") % {
        "value": value,
        "choices": "、".join(spellings[0] for spellings in names.values()),
    }


def _outside(label: str) -> str:
    return _(
        "“%(place)s” is not in a place you manage: you can only import residents of your own "
        "neighbourhood."
    ) % {"place": label}


def _field_labels() -> dict[str, str]:
    labels = {name: str(Resident._meta.get_field(name).verbose_name) for name in SETTABLE}
    labels.update(
        phone=str(_("phone")),
        care_tags=str(Resident._meta.get_field("care_tags").verbose_name),
        dwelling=str(_("dwelling (moves)")),
    )
    return labels


# --- entry points ------------------------------------------------------------------------------


def plan_import(*, user, data: bytes, filename: str = "") -> ImportResult:
    """A dry run: what importing ``data`` would do, and every bad row. Writes nothing."""
    return import_registry(user=user, data=data, filename=filename, dry_run=True)


def import_registry(
    *, user, data: bytes, filename: str = "", dry_run: bool = True, ip: str | None = None
) -> ImportResult:
    """Check a file and, unless ``dry_run``, save it - all of it, or nothing if a row is bad."""
    if scope_for(user, MANAGE).is_empty:
        raise PermissionDenied(_("Only the residents' committee imports residents."))
    try:
        table = read_table(data)
    except ImportFileError as exc:
        return ImportResult(filename=filename, file_error=str(exc))
    if dry_run:
        return Planner(user=user, table=table).plan().result(filename=filename)
    try:
        with transaction.atomic():
            planner = Planner(user=user, table=table).plan()
            if planner.errors:
                return planner.result(filename=filename)
            planner.apply(filename=filename, ip=ip)
    except _ApplyFailed as exc:
        result = planner.result(filename=filename)
        result.errors = exc.errors
        return result
    except IntegrityError:
        return ImportResult(
            filename=filename,
            kind=table.kind,
            rows=len(table.rows),
            file_error=_(
                "The registry changed while this file was being saved (someone registered "
                "one of these people meanwhile). Nothing was saved: check the file again."
            ),
        )
    return planner.result(filename=filename, saved=True)


# --- the template ------------------------------------------------------------------------------

LIST_VALIDATIONS = {
    "id_type": ID_TYPE_NAMES,
    "gender": GENDER_NAMES,
    "relation": RELATION_NAMES,
    "residence_status": STATUS_NAMES,
    "lives_alone": {True: (YES,), False: (NO,)},
}
TEXT_COLUMNS = ("building", "room", "id_number", "phone")
TEMPLATE_ROWS = 5000  # rows the drop-down lists cover


def template_workbook(*, user) -> bytes:
    """The import template: the header row, one example row, drop-down lists and a 说明 sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    sheet.append([column.header for column in COLUMNS])
    sheet.append(_example_row(user))
    bold = Font(bold=True)
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index).font = bold
        sheet.column_dimensions[letter].width = column.width
        if column.key in TEXT_COLUMNS:  # keep long numbers and leading zeros as typed
            sheet.column_dimensions[letter].number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
        elif column.key in ("birth_date", "moved_in", "moved_out"):
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
            sheet.cell(row=2, column=index).number_format = "yyyy-mm-dd"
        names = LIST_VALIDATIONS.get(column.key)
        if names:
            choices = ",".join(spellings[0] for spellings in names.values())
            validation = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
            validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"

    notes = book.create_sheet("说明")
    notes.append([str(_("Column")), "English", str(_("Required")), str(_("What to write"))])
    for cell in notes[1]:
        cell.font = bold
    tag_names = "、".join(CareTag.objects.filter(active=True).values_list("name", flat=True))
    choices = {
        "id_type": ID_TYPE_NAMES,
        "gender": GENDER_NAMES,
        "relation": RELATION_NAMES,
        "residence_status": STATUS_NAMES,
        "lives_alone": {True: (YES,), False: (NO,)},
    }
    for column in COLUMNS:
        what = [str(column.label)]
        if column.key in choices:
            what.append("、".join(s[0] for s in choices[column.key].values()))
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
        notes.append([str(line)])
    notes.column_dimensions["A"].width = 12
    notes.column_dimensions["B"].width = 18
    notes.column_dimensions["C"].width = 8
    notes.column_dimensions["D"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


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
        "id_type": _canonical(ID_TYPE_NAMES, IdType.RESIDENT_ID),
        "id_number": compose_id_number("319999", datetime.date(1958, 3, 15), 11),
        "phone": "13800138000",
        "relation": _canonical(RELATION_NAMES, Relation.HEAD),
        "residence_status": _canonical(STATUS_NAMES, ResidenceStatus.REGISTERED),
        "nationality": "CN",
        "care_tags": tag,
        "lives_alone": NO,
        "moved_in": datetime.date(2010, 5, 1),
    }
    values = dict(zip(("estate", "building", "room"), place, strict=True), **example)
    return [values.get(column.key) for column in COLUMNS]


# --- errors as a file --------------------------------------------------------------------------


def errors_workbook(result: ImportResult) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title="错误")
    sheet.append([str(_("Row")), str(_("Column")), str(_("Value")), str(_("Problem"))])
    if result.file_error:
        sheet.append(["", "", "", result.file_error])
    for error in result.errors:
        column = f"{error.column} ({error.letter})" if error.letter else error.column
        sheet.append([error.row, column, error.value, error.message])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


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
        "id_type": _canonical(ID_TYPE_NAMES, resident.id_type),
        "id_number": id_number,
        "gender": _canonical(GENDER_NAMES, resident.gender) if resident.gender else "",
        "birth_date": resident.birth_date,
        "phone": phone,
        "relation": _canonical(RELATION_NAMES, resident.relation),
        "residence_status": _canonical(STATUS_NAMES, resident.residence_status),
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
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=SHEET_TITLE)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.append([column.header for column in COLUMNS])
    counts: Counter = Counter()
    for resident in queryset.iterator(chunk_size=EXPORT_CHUNK):
        sheet.append(export_values(resident, full=full))
        counts[resident.neighbourhood_id] += 1
    book.save(fileobj)
    if not counts:
        scope = scope_for(user, MANAGE)
        only = next(iter(scope.neighbourhood_ids)) if len(scope.neighbourhood_ids) == 1 else None
        counts[only] = 0
    for neighbourhood_id, rows in sorted(counts.items(), key=lambda item: item[0] or 0):
        events.registry_exported(
            actor=user, neighbourhood_id=neighbourhood_id, rows=rows, masked=not full, ip=ip
        )
    return sum(counts.values())


# --- files waiting between the preview and the confirmation ----------------------------------
#
# An uploaded file is kept in the default storage until it is imported or cancelled, and
# for a day at most (``purge_expired_uploads``). It holds ID numbers, so it is stored
# encrypted with the identifiers' key (``core.crypto``), under a name derived from the
# user and a random token with the secret key: the token in the preview's address alone
# neither finds nor opens another user's file.

UPLOAD_DIR = "imports"
UPLOAD_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def upload_keep() -> datetime.timedelta:
    """How long an upload waits for its confirmation (settings.LINLI_IMPORT_KEEP_HOURS, 24)."""
    return datetime.timedelta(hours=float(getattr(settings, "LINLI_IMPORT_KEEP_HOURS", 24)))


@dataclass(frozen=True)
class Upload:
    token: str
    filename: str
    uploaded_at: datetime.datetime
    data: bytes


def _upload_name(user, token: str) -> str:
    digest = salted_hmac("residents.imports.upload", f"{user.pk}:{token}").hexdigest()
    return f"{UPLOAD_DIR}/{user.pk}/{digest}.bin"


def upload_store(*, user, filename: str, data: bytes) -> str:
    """Keep an uploaded file for ``user``; returns the token that names it in addresses."""
    token = secrets.token_hex(16)
    envelope = json.dumps(
        {
            "filename": (filename or "")[:200],
            "uploaded_at": timezone.now().isoformat(),
            "data": base64.b64encode(data).decode("ascii"),
        }
    )
    sealed = cipher().encrypt(envelope).encode("ascii")
    default_storage.save(_upload_name(user, token), ContentFile(sealed))
    return token


def upload_load(*, user, token: str) -> Upload | None:
    """``user``'s pending upload, or None (unknown, another user's, damaged or expired)."""
    if not UPLOAD_TOKEN.match(token or "") or not getattr(user, "pk", None):
        return None
    name = _upload_name(user, token)
    if not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as handle:
        sealed = handle.read()
    try:
        envelope = json.loads(cipher().decrypt(sealed.decode("ascii")))
        uploaded_at = datetime.datetime.fromisoformat(envelope["uploaded_at"])
        data = base64.b64decode(envelope["data"])
    except (DecryptionError, ValueError, KeyError, UnicodeDecodeError):
        default_storage.delete(name)
        return None
    if timezone.now() - uploaded_at > upload_keep():
        default_storage.delete(name)
        return None
    return Upload(token=token, filename=envelope["filename"], uploaded_at=uploaded_at, data=data)


def upload_discard(*, user, token: str) -> None:
    if UPLOAD_TOKEN.match(token or "") and getattr(user, "pk", None):
        default_storage.delete(_upload_name(user, token))


def purge_expired_uploads(*, now: datetime.datetime | None = None) -> int:
    """Delete every pending upload older than ``upload_keep()``; returns how many."""
    cutoff = (now or timezone.now()) - upload_keep()
    removed = 0
    try:
        user_dirs, _files = default_storage.listdir(UPLOAD_DIR)
    except (FileNotFoundError, NotImplementedError):
        return 0
    for user_dir in user_dirs:
        _dirs, files = default_storage.listdir(f"{UPLOAD_DIR}/{user_dir}")
        for name in files:
            path = f"{UPLOAD_DIR}/{user_dir}/{name}"
            try:
                modified = default_storage.get_modified_time(path)
            except (FileNotFoundError, NotImplementedError):
                continue
            if modified < cutoff:
                default_storage.delete(path)
                removed += 1
    return removed
