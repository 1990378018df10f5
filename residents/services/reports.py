"""智慧报表 writes: save, rename, delete and run saved reports; export results to Excel.

Callers authorise first (``residents.selectors.reports.access_saved_report`` is a
404 outside the user's scope); these functions enforce the rules: a name unique per
neighbourhood, conditions that pass ``clean_conditions``, a neighbourhood the saving
user manages.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from core.tables.xlsx import XlsxBook, sheet_title
from core.text import clean_text

from .. import events
from ..models import Gender, ResidenceStatus, SavedReport
from ..selectors.reports import clean_conditions, report_residents, report_scope

NAME_MAX = SavedReport._meta.get_field("name").max_length

# The two examples every demo neighbourhood gets (see ensure_example_reports).
EXAMPLE_REPORTS = [
    ("90 岁以上老人 (免费牛奶)", {"age_min": 90, "moved_out": "current"}),
    ("80 岁以上独居老人", {"age_min": 80, "lives_alone": True, "moved_out": "current"}),
]


def _clean_name(name: str) -> str:
    name = " ".join(clean_text(name, field="name").split())
    if not name:
        raise ValidationError({"name": ValidationError(_("Give the report a name."), "required")})
    if len(name) > NAME_MAX:
        message = _("A report name has at most %(max)s characters.") % {"max": NAME_MAX}
        raise ValidationError({"name": ValidationError(message, code="max_length")})
    return name


def _name_taken() -> ValidationError:
    message = _("This neighbourhood already has a report with this name; choose another.")
    return ValidationError({"name": ValidationError(message, code="duplicate")})


def _check_unique(*, neighbourhood_id: int, name: str, exclude_pk=None) -> None:
    clash = SavedReport.objects.filter(neighbourhood_id=neighbourhood_id, name=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise _name_taken()


def _save(report: SavedReport, **kwargs) -> SavedReport:
    try:
        with transaction.atomic():
            report.save(**kwargs)
    except IntegrityError:  # a concurrent save of the same name
        raise _name_taken() from None
    return report


@transaction.atomic
def saved_report_create(*, neighbourhood, name: str, conditions, by) -> SavedReport:
    """Save conditions by name for a neighbourhood the user manages."""
    if by is not None and not report_scope(by).covers_neighbourhood(neighbourhood.pk):
        raise PermissionDenied(_("You do not manage this neighbourhood."))
    name = _clean_name(name)
    try:
        conditions = clean_conditions(conditions)
    except ValidationError as exc:
        raise ValidationError({"conditions": exc.messages}) from None
    _check_unique(neighbourhood_id=neighbourhood.pk, name=name)
    report = SavedReport(
        neighbourhood=neighbourhood,
        name=name,
        conditions=conditions,
        created_by=by if getattr(by, "pk", None) else None,
    )
    return _save(report)


@transaction.atomic
def saved_report_rename(*, report: SavedReport, name: str, by=None) -> SavedReport:
    name = _clean_name(name)
    if name == report.name:
        return report
    _check_unique(neighbourhood_id=report.neighbourhood_id, name=name, exclude_pk=report.pk)
    report.name = name
    return _save(report, update_fields=["name", "updated_at"])


@transaction.atomic
def saved_report_delete(*, report: SavedReport, by=None) -> None:
    report.delete()


def saved_report_run(*, report: SavedReport, user, today: datetime.date | None = None):
    """The report's residents as ``user`` may see them, and its count, recorded on the report.

    Returns ``(conditions, queryset, count)``. The conditions are validated again:
    a report altered in the database raises ValidationError instead of running.
    Results are within the user's scope *and* the report's neighbourhood.
    """
    conditions = clean_conditions(report.conditions)
    queryset = report_residents(
        user=user, conditions=conditions, neighbourhood_id=report.neighbourhood_id, today=today
    )
    count = queryset.count()
    now = timezone.now()
    SavedReport.objects.filter(pk=report.pk).update(last_count=count, last_run_at=now)
    report.last_count, report.last_run_at = count, now
    return conditions, queryset, count


def ensure_example_reports(neighbourhood) -> list[SavedReport]:
    """The demo's two saved examples for ``neighbourhood`` (idempotent: kept if present)."""
    reports = []
    for name, conditions in EXAMPLE_REPORTS:
        report, _created = SavedReport.objects.get_or_create(
            neighbourhood=neighbourhood,
            name=name,
            defaults={"conditions": clean_conditions(conditions)},
        )
        reports.append(report)
    return reports


# --- export ------------------------------------------------------------------------------

EXPORT_CHUNK = 2000


def export_headers() -> list[str]:
    return [
        _("Name"),
        _("Gender"),
        _("Age"),
        _("Date of birth"),
        _("ID number (masked)"),
        _("Phone (masked)"),
        _("Estate"),
        _("Building"),
        _("Room"),
        _("Residence status"),
        _("Lives alone"),
        _("Care tags"),
        _("Moved out"),
    ]


def export_rows(queryset, *, today: datetime.date | None = None):
    """One list per resident, masked identifiers only (the queryset from report_residents)."""
    today = today or timezone.localdate()
    genders = dict(Gender.choices)
    statuses = dict(ResidenceStatus.choices)
    yes, no = _("yes"), _("no")
    for resident in queryset.iterator(chunk_size=EXPORT_CHUNK):
        yield [
            resident.name,
            str(genders.get(resident.gender, "")),
            resident.age(today),
            resident.birth_date,
            resident.masked_id,
            resident.masked_phone,
            resident.estate.name,
            resident.building.number,
            resident.dwelling.room,
            str(statuses.get(resident.residence_status, resident.residence_status)),
            yes if resident.lives_alone else no,
            "、".join(tag.name for tag in resident.care_tags.all()),
            resident.moved_out,
        ]


def report_export_xlsx(
    *, user, queryset, title: str, neighbourhood_id: int | None = None, ip=None
) -> bytes:
    """An XLSX workbook (``core.tables.xlsx``: safe text cells) of the residents, masked;
    audited.

    The audit event belongs to a neighbourhood, so that the cadre's audit list
    shows it: one event per neighbourhood the rows come from, with its own row
    count (a saved report's rows are all in ``neighbourhood_id``). An empty export
    is recorded in ``neighbourhood_id``, or in the user's one neighbourhood.
    """
    book = XlsxBook()
    sheet = book.sheet(_sheet_title(title))
    sheet.append(export_headers(), bold=True)
    rows = 0
    for row in export_rows(queryset):
        sheet.append(row)
        rows += 1
    content = book.to_bytes()
    for place_id, count in _rows_per_neighbourhood(
        user=user, queryset=queryset, neighbourhood_id=neighbourhood_id, rows=rows
    ):
        events.registry_exported(
            actor=user, neighbourhood_id=place_id, rows=count, masked=True, ip=ip, report=title
        )
    return content


def _rows_per_neighbourhood(*, user, queryset, neighbourhood_id, rows) -> list[tuple]:
    if rows:
        counts = (
            queryset.order_by()
            .prefetch_related(None)
            .values_list("neighbourhood_id")
            .annotate(n=Count("pk"))
            .values_list("neighbourhood_id", "n")
        )
        found = sorted(counts)
        if found:
            return found
    if neighbourhood_id is None:
        managed = report_scope(user).neighbourhood_ids
        neighbourhood_id = next(iter(managed)) if len(managed) == 1 else None
    return [(neighbourhood_id, rows)]


def _sheet_title(title: str) -> str:
    return sheet_title(title, default="report")
