"""The 12345 hotline import: work orders (工单) of the city hotline become reports.

A cadre (``buildings.manage_neighbourhood``) uploads the hotline's XLSX or CSV export;
each row becomes a report with source ``hotline``, its work-order number as external id
and the cadre as ``entered_by`` (``issues.services.issue_create``). The pages are those
of ``core.tables.flow`` (upload, dry-run preview with every bad row, confirm); this module
says what the columns are (:data:`COLUMNS`), checks a file (:func:`check_hotline`) and
saves it (:func:`save_hotline`, all or nothing).

* 工单编号 (required) identifies the order: a row whose number was imported before is
  "already imported", neither an error nor a new report, so importing the same file
  again adds nothing.
* 诉求类别 is matched against the active categories by Chinese or English name or code.
* 小区 is matched among the estates the cadre manages (an estate elsewhere is a row
  error), 楼号 among that estate's buildings (``3``, ``3号``, ``3号楼``, ``3栋`` alike).
* 受理时间, when given, is when the hotline took the call: the report's deadlines run
  from it (the service's ``now``).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from buildings.models import Building, Estate
from buildings.permissions import MANAGE
from core.scoping import scope_for
from core.tables.cells import cell_text, is_blank
from core.tables.flow import RowError, TableOutcome
from core.tables.reading import Table, TableFileError, TableSpec, normalise_key, read_table
from core.tables.uploads import PendingUploads
from core.tables.xlsx import XlsxBook

from .models import Category, Issue, Source

UPLOADS = PendingUploads(directory="issue-imports", salt="issues.hotline.upload")
SAMPLE_SIZE = 20
_BUILDING_SUFFIX = re.compile(r"(号楼|号|幢|栋|座|楼)$")
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d%H%M%S",
)


def max_upload_bytes() -> int:
    """Largest hotline file (LINLI_ISSUE_HOTLINE_MAX_BYTES, default 5 MB)."""
    return int(getattr(settings, "LINLI_ISSUE_HOTLINE_MAX_BYTES", 5 * 1024 * 1024))


def max_rows() -> int:
    """Most work orders in one file (LINLI_ISSUE_HOTLINE_MAX_ROWS, default 2,000)."""
    return int(getattr(settings, "LINLI_ISSUE_HOTLINE_MAX_ROWS", 2000))


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    label: object
    required: bool = False
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column(
        "external_id",
        "工单编号",
        gettext_lazy("Work order number"),
        True,
        ("工单号", "编号", "work order", "work order number", "external id"),
    ),
    Column(
        "received_at",
        "受理时间",
        gettext_lazy("Received at"),
        False,
        ("来电时间", "受理日期", "received at", "received"),
    ),
    Column(
        "category",
        "诉求类别",
        gettext_lazy("Category"),
        True,
        ("类别", "问题类别", "工单类别", "诉求分类", "category"),
    ),
    Column(
        "description",
        "诉求内容",
        gettext_lazy("Description"),
        True,
        ("内容", "问题描述", "诉求描述", "description"),
    ),
    Column(
        "address",
        "地址",
        gettext_lazy("Address"),
        False,
        ("诉求地址", "事发地址", "地点", "address"),
    ),
    Column("estate", "小区", gettext_lazy("Estate"), True, ("小区名称", "estate")),
    Column("building", "楼号", gettext_lazy("Building"), False, ("楼栋", "楼", "building")),
    Column(
        "contact_name",
        "联系人",
        gettext_lazy("Contact name"),
        False,
        ("来电人", "姓名", "contact", "contact name"),
    ),
    Column(
        "contact_phone",
        "联系电话",
        gettext_lazy("Contact phone"),
        False,
        ("来电号码", "电话", "手机号", "phone", "contact phone"),
    ),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}


def table_spec() -> TableSpec:
    headers = {}
    for column in COLUMNS:
        for name in (column.key, column.header, *column.aliases):
            headers[normalise_key(name)] = column.key
    return TableSpec(
        headers=headers,
        required={c.key: c.header for c in COLUMNS if c.required},
        no_header_message=_(
            "No header row was found: the first row must name the columns, such as "
            "工单编号, 诉求类别, 诉求内容, 小区. Download the template to see them all."
        ),
        no_rows_message=_("The file has a header row but no work orders under it."),
        max_bytes=max_upload_bytes(),
        max_rows=max_rows(),
        default_headers={c.key: c.header for c in COLUMNS},
    )


@dataclass
class HotlineOutcome(TableOutcome):
    """What checking or saving a hotline file found or did."""

    created: int = 0
    already: int = 0  # rows whose work order was imported before
    already_ids: list[str] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)
    issue_ids: list[int] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.created)


@dataclass
class _Row:
    number: int
    values: dict


def _building_candidates(text: str) -> list[str]:
    base = _BUILDING_SUFFIX.sub("", text)
    found = [text]
    for candidate in (base, f"{base}号楼", f"{base}号", f"{base}幢", f"{base}栋"):
        if base and candidate not in found:
            found.append(candidate)
    return found


def _parse_datetime(value) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time())
    else:
        text = cell_text(value).replace("T", " ")
        for pattern in _DATETIME_FORMATS:
            try:
                moment = datetime.datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError(text)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class HotlineCheck:
    """Checks every row of a table against the categories, the cadre's places and the
    work orders imported before; no write."""

    def __init__(self, *, user, table: Table, now=None):
        self.user = user
        self.table = table
        self.now = now or timezone.now()
        self.scope = scope_for(user, MANAGE)
        self.errors: list[RowError] = []
        self.rows: list[_Row] = []
        self.already: list[str] = []

    def error(self, number: int, key: str, cells, message: str) -> None:
        value = cell_text(self.table.cell(cells, key))[:60]
        self.errors.append(
            RowError(number, self.table.header(key), self.table.letter(key), value, message)
        )

    def _categories(self) -> dict[str, Category]:
        lookup = {}
        for category in Category.objects.filter(active=True).prefetch_related("attributes"):
            for name in (category.code, category.name_en, category.name_zh):
                if name:
                    lookup[normalise_key(name)] = category
        return lookup

    def _estates(self) -> tuple[dict[str, list[Estate]], dict[tuple[int, str], Building]]:
        estates: dict[str, list[Estate]] = {}
        queryset = self.scope.filter(Estate.objects.all()).select_related("neighbourhood")
        for estate in queryset.filter(name__in=self._raw_names("estate")):
            estates.setdefault(normalise_key(estate.name), []).append(estate)
        ids = [e.pk for found in estates.values() for e in found]
        buildings = {(b.estate_id, b.number): b for b in Building.objects.filter(estate_id__in=ids)}
        return estates, buildings

    def _raw_names(self, key: str) -> set[str]:
        return {cell_text(self.table.cell(cells, key)) for _n, cells in self.table.rows}

    def check(self) -> HotlineCheck:
        categories = self._categories()
        estates, buildings = self._estates()
        ids = [cell_text(self.table.cell(cells, "external_id")) for _n, cells in self.table.rows]
        known = set(
            Issue.objects.filter(
                source=Source.HOTLINE, external_id__in=[i for i in ids if i]
            ).values_list("external_id", flat=True)
        )
        seen: dict[str, int] = {}
        for number, cells in self.table.rows:
            self._check_row(number, cells, categories, estates, buildings, known, seen)
        return self

    def _check_row(self, number, cells, categories, estates, buildings, known, seen) -> None:
        cell = self.table.cell
        before = len(self.errors)
        external_id = cell_text(cell(cells, "external_id"))
        if not external_id:
            self.error(number, "external_id", cells, _("The work order number is missing."))
        elif len(external_id) > 64:
            self.error(
                number, "external_id", cells, _("A work order number has at most 64 characters.")
            )
        elif external_id in seen:
            self.error(
                number,
                "external_id",
                cells,
                _("This work order is already in row %(row)s of the file.")
                % {"row": seen[external_id]},
            )
            return
        else:
            seen[external_id] = number
            if external_id in known:
                self.already.append(external_id)
                return
        values = {"external_id": external_id}
        category = categories.get(normalise_key(cell_text(cell(cells, "category"))))
        if category is None:
            self.error(
                number,
                "category",
                cells,
                _("No category of this name; see the list of categories."),
            )
        elif any(attribute.required for attribute in category.attributes.all()):
            self.error(
                number,
                "category",
                cells,
                _(
                    "This category asks questions a work order does not answer; "
                    "enter this report by hand."
                ),
            )
        values["category"] = category
        description = cell_text(cell(cells, "description"))
        if not description:
            self.error(number, "description", cells, _("The description is missing."))
        values["description"] = description
        received = cell(cells, "received_at")
        values["received_at"] = None
        if not is_blank(received):
            try:
                values["received_at"] = _parse_datetime(received)
            except ValueError:
                self.error(
                    number,
                    "received_at",
                    cells,
                    _("Write a date and time such as 2026-03-15 09:30."),
                )
            else:
                if values["received_at"] > self.now:
                    self.error(number, "received_at", cells, _("This time is in the future."))
        estate_name = cell_text(cell(cells, "estate"))
        found = estates.get(normalise_key(estate_name), [])
        estate = found[0] if len(found) == 1 else None
        if not estate_name:
            self.error(number, "estate", cells, _("The estate is missing."))
        elif not found:
            self.error(
                number, "estate", cells, _("No estate of this name among the places you manage.")
            )
        elif len(found) > 1:
            self.error(number, "estate", cells, _("Several estates you manage have this name."))
        values["estate"] = estate
        values["building"] = None
        building_text = cell_text(cell(cells, "building"))
        if estate is not None and building_text:
            for candidate in _building_candidates(building_text):
                if (estate.pk, candidate) in buildings:
                    values["building"] = buildings[(estate.pk, candidate)]
                    break
            else:
                self.error(
                    number, "building", cells, _("The estate has no building of this number.")
                )
        for key in ("address", "contact_name", "contact_phone"):
            values[key] = cell_text(cell(cells, key))
        if len(self.errors) == before:
            self.rows.append(_Row(number, values))

    def outcome(self, *, filename: str, saved: bool = False, issue_ids=()) -> HotlineOutcome:
        return HotlineOutcome(
            filename=filename,
            kind=self.table.kind,
            rows=len(self.table.rows),
            errors=self.errors,
            ignored_columns=self.table.ignored,
            saved=saved,
            created=len(self.rows),
            already=len(self.already),
            already_ids=self.already[:SAMPLE_SIZE],
            samples=[_sample(row) for row in self.rows[:SAMPLE_SIZE]],
            issue_ids=list(issue_ids),
        )


def _sample(row: _Row) -> dict:
    values = row.values
    building = values["building"]
    return {
        "row": row.number,
        "external_id": values["external_id"],
        "category": values["category"].name if values["category"] else "",
        "estate": values["estate"].name if values["estate"] else "",
        "building": building.number if building else "",
        "description": values["description"][:80],
    }


def _require_manager(user) -> None:
    if scope_for(user, MANAGE).is_empty:
        raise PermissionDenied(_("Only the residents' committee imports hotline work orders."))


def check_hotline(*, user, data: bytes, filename: str = "") -> HotlineOutcome:
    """A dry run: which rows would become reports, which were imported before, every bad
    row. Writes nothing."""
    _require_manager(user)
    try:
        table = read_table(data, table_spec())
    except TableFileError as exc:
        return HotlineOutcome(filename=filename, file_error=str(exc))
    return HotlineCheck(user=user, table=table).check().outcome(filename=filename)


class _RowFailed(Exception):
    def __init__(self, errors):
        self.errors = errors


def save_hotline(*, user, data: bytes, filename: str = "", ip=None) -> HotlineOutcome:
    """Check again and create a report per new row: all of them, or none if a row is bad."""
    from .services import issue_create

    _require_manager(user)
    try:
        table = read_table(data, table_spec())
    except TableFileError as exc:
        return HotlineOutcome(filename=filename, file_error=str(exc))
    checker = HotlineCheck(user=user, table=table)
    try:
        with transaction.atomic():
            checker.check()
            if checker.errors:
                return checker.outcome(filename=filename)
            ids = []
            for row in checker.rows:
                ids.append(_create(issue_create, user, row, table).pk)
    except _RowFailed as exc:
        checker.errors = exc.errors
        return checker.outcome(filename=filename)
    except IntegrityError:
        return HotlineOutcome(
            filename=filename,
            kind=table.kind,
            rows=len(table.rows),
            file_error=_(
                "Some of these work orders were imported meanwhile. Nothing was saved: "
                "check the file again."
            ),
        )
    return checker.outcome(filename=filename, saved=True, issue_ids=ids[:200])


def _create(issue_create, user, row: _Row, table: Table):
    values = row.values
    estate = values["estate"]
    try:
        return issue_create(
            category=values["category"],
            description=values["description"],
            source=Source.HOTLINE,
            entered_by=user,
            neighbourhood=estate.neighbourhood,
            estate=estate,
            building=values["building"],
            address=values["address"][:200],
            contact_name=values["contact_name"][:50],
            contact_phone=values["contact_phone"][:30],
            external_id=values["external_id"],
            now=values["received_at"],
        )
    except ValidationError as exc:
        messages = exc.messages
        raise _RowFailed(
            [RowError(row.number, table.header("description"), "", "", "; ".join(messages))]
        ) from exc


def hotline_summary(outcome: HotlineOutcome) -> dict:
    return {
        "filename": outcome.filename,
        "rows": outcome.rows,
        "created": outcome.created,
        "already": outcome.already,
        "issue_ids": outcome.issue_ids,
    }


def template_workbook() -> bytes:
    """An empty hotline sheet with the header row and one example row."""
    book = XlsxBook()
    sheet = book.sheet("工单", widths=[18, 18, 14, 40, 24, 14, 8, 10, 14], freeze_header=True)
    sheet.append([column.header for column in COLUMNS], bold=True)
    sheet.append(
        [
            "SH12345-2026-000001",
            "2026-03-15 09:30",
            "噪音扰民",
            "楼下夜间施工噪音",
            "盘古路 100 弄",
            "宝林一村",
            "3号楼",
            "张先生",
            "13800000000",
        ]
    )
    return book.to_bytes()
