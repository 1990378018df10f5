"""The responsiveness board (红黑榜, "red and black list") of the handlers in a scope.

:func:`board_for` answers, for every handler (a property company, a neighbourhood
committee, a subdistrict department) holding reports created in ``[start, end)`` in
the scope: how many, the share acknowledged on time, the share resolved on time, the
median time to resolve, the average rating and the share reopened.

A report counts for the handler holding it now (after an escalation, the level it was
escalated to). Merged reports (duplicates) are left out of every figure; rejected
reports count for acknowledgement but not for resolution.

* **Acknowledged on time**: ``acknowledged_at <= acknowledge_due``, among the reports
  acknowledged or past their ``acknowledge_due``.
* **Resolved on time**: ``resolved_at <= resolve_due``, or, when the handler committed to
  a date (承诺制), resolved by the end of ``committed_due`` (local time); among the
  reports resolved or past that deadline.
* **Score**: the mean of the two on-time rates (the one there is, if only one can be
  computed); ties are broken by the average rating (unrated last), then by more reports.
  A handler with fewer than ``LINLI_ISSUE_BOARD_MIN_REPORTS`` (default 3) reports, or
  without a score, is listed but not ranked. The top three ranked are the red list, the
  bottom three (of those not on the red list) the black list.

Cost: two queries whatever the number of handlers and reports - one grouped aggregate,
and one ``values_list`` of the resolved reports' two timestamps for the medians (computed
in Python, so the same code runs on SQLite and PostgreSQL).

A scope of estates only (property staff) sees its property companies' rows only: the
reports of its estates that a property company holds, of the companies of those estates.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Avg, Case, CharField, Count, F, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from buildings.models import Estate
from core.scoping import Scope

from ..models import HandlerLevel, Issue, Status

RED_SIZE = BLACK_SIZE = 3


def min_reports() -> int:
    """Handlers with fewer reports are listed, not ranked (LINLI_ISSUE_BOARD_MIN_REPORTS)."""
    return int(getattr(settings, "LINLI_ISSUE_BOARD_MIN_REPORTS", 3))


@dataclass
class BoardRow:
    """One handler's figures over the period. Rates are 0..1, or None when nothing counts."""

    key: str  # "property:12", "committee:3", "department:5" (department:0 = none named)
    level: str  # a HandlerLevel
    handler_id: int | None
    name: str
    reports: int = 0
    acknowledge_counted: int = 0
    acknowledged_on_time: int = 0
    resolve_counted: int = 0
    resolved_on_time: int = 0
    resolved: int = 0
    median_resolve_hours: float | None = None
    ratings: int = 0
    average_rating: float | None = None
    reopened: int = 0
    score: float | None = None
    rank: int | None = None

    @property
    def acknowledge_rate(self) -> float | None:
        return _rate(self.acknowledged_on_time, self.acknowledge_counted)

    @property
    def resolve_rate(self) -> float | None:
        return _rate(self.resolved_on_time, self.resolve_counted)

    @property
    def reopen_rate(self) -> float | None:
        return _rate(self.reopened, self.reports)

    @property
    def acknowledge_percent(self) -> int | None:
        return _percent(self.acknowledge_rate)

    @property
    def resolve_percent(self) -> int | None:
        return _percent(self.resolve_rate)

    @property
    def reopen_percent(self) -> int | None:
        return _percent(self.reopen_rate)

    @property
    def score_percent(self) -> int | None:
        return _percent(self.score)

    @property
    def ranked(self) -> bool:
        return self.rank is not None

    @property
    def level_label(self) -> str:
        return str(HandlerLevel(self.level).label)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _percent(rate: float | None) -> int | None:
    return None if rate is None else round(rate * 100)


def _handler_expressions():
    """The handler a report is held by, as (its id, its name) expressions."""
    handler_id = Case(
        When(handler_level=HandlerLevel.PROPERTY, then=F("property_company_id")),
        When(handler_level=HandlerLevel.COMMITTEE, then=F("neighbourhood_id")),
        When(handler_level=HandlerLevel.DEPARTMENT, then=F("department_id")),
        default=None,
        output_field=IntegerField(),
    )
    handler_name = Case(
        When(handler_level=HandlerLevel.PROPERTY, then=F("property_company__name")),
        When(handler_level=HandlerLevel.COMMITTEE, then=F("neighbourhood__name")),
        When(handler_level=HandlerLevel.DEPARTMENT, then=F("department__name")),
        default=Value(""),
        output_field=CharField(),
    )
    return handler_id, handler_name


def board_queryset(*, scope: Scope, start, end, level=None):
    """The reports the board counts: in the scope, created in [start, end), not merged."""
    queryset = scope.filter(Issue.objects.all()).filter(created_at__gte=start, created_at__lt=end)
    queryset = queryset.exclude(status=Status.MERGED)
    if not scope.everything and not scope.neighbourhood_ids and scope.estate_ids:
        # property staff: their companies' rows only
        companies = Estate.objects.filter(pk__in=sorted(scope.estate_ids)).values(
            "property_company_id"
        )
        queryset = queryset.filter(
            handler_level=HandlerLevel.PROPERTY, property_company_id__in=companies
        )
    if level:
        queryset = queryset.filter(handler_level=level)
    handler_id, handler_name = _handler_expressions()
    return queryset.annotate(board_handler=handler_id, board_name=handler_name)


def board_for(
    *, scope: Scope, start, end, level=None, now: datetime.datetime | None = None
) -> list[BoardRow]:
    """The board's rows: the ranked handlers by rank, then the unranked by reports."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    base = board_queryset(scope=scope, start=start, end=end, level=level)

    acknowledged = Q(acknowledged_at__isnull=False)
    ack_counted = acknowledged | Q(acknowledge_due__lt=now)
    ack_on_time = acknowledged & Q(acknowledged_at__lte=F("acknowledge_due"))
    resolved = Q(resolved_at__isnull=False)
    committed = Q(committed_due__isnull=False)
    past_due = (~committed & Q(resolve_due__lt=now)) | (committed & Q(committed_due__lt=today))
    not_rejected = ~Q(status=Status.REJECTED)
    res_counted = not_rejected & (resolved | past_due)
    res_on_time = resolved & (
        (~committed & Q(resolved_at__lte=F("resolve_due")))
        | (committed & Q(resolved_at__date__lte=F("committed_due")))
    )
    grouped = (
        base.order_by()
        .values("handler_level", "board_handler", "board_name")
        .annotate(
            reports=Count("id"),
            ack_counted=Count("id", filter=ack_counted),
            ack_on_time=Count("id", filter=ack_on_time),
            res_counted=Count("id", filter=res_counted),
            res_on_time=Count("id", filter=res_on_time),
            resolved=Count("id", filter=resolved),
            ratings=Count("rating"),
            average_rating=Avg("rating"),
            reopened=Count("id", filter=Q(reopen_count__gt=0)),
        )
    )
    rows: dict[str, BoardRow] = {}
    for entry in grouped:
        level_code, handler_id = entry["handler_level"], entry["board_handler"]
        key = f"{level_code}:{handler_id or 0}"
        row = rows.get(key)
        if row is None:
            row = rows[key] = BoardRow(
                key=key,
                level=level_code,
                handler_id=handler_id,
                name=_display_name(level_code, entry["board_name"]),
            )
        row.reports += entry["reports"]
        row.acknowledge_counted += entry["ack_counted"]
        row.acknowledged_on_time += entry["ack_on_time"]
        row.resolve_counted += entry["res_counted"]
        row.resolved_on_time += entry["res_on_time"]
        row.resolved += entry["resolved"]
        row.ratings += entry["ratings"]
        if entry["average_rating"] is not None:
            row.average_rating = float(entry["average_rating"])
        row.reopened += entry["reopened"]
    _medians(base, rows)
    return rank(list(rows.values()))


def _display_name(level: str, name: str | None) -> str:
    if level == HandlerLevel.COMMITTEE:
        return _("%(name)s committee") % {"name": name or "?"}
    if level == HandlerLevel.DEPARTMENT and not name:
        return str(HandlerLevel.DEPARTMENT.label)
    return name or "?"


def _medians(base, rows: dict[str, BoardRow]) -> None:
    """The median time to resolve per handler, from one query of two timestamps a row."""
    durations: dict[str, list[float]] = defaultdict(list)
    resolved = base.filter(resolved_at__isnull=False).order_by()
    for level_code, handler_id, created, done in resolved.values_list(
        "handler_level", "board_handler", "created_at", "resolved_at"
    ).iterator(chunk_size=5000):
        durations[f"{level_code}:{handler_id or 0}"].append((done - created).total_seconds())
    for key, seconds in durations.items():
        if key in rows:
            rows[key].median_resolve_hours = statistics.median(seconds) / 3600


def score_of(row: BoardRow) -> float | None:
    """The mean of the on-time rates that can be computed; None if neither can."""
    rates = [r for r in (row.acknowledge_rate, row.resolve_rate) if r is not None]
    return sum(rates) / len(rates) if rates else None


def rank(rows: list[BoardRow]) -> list[BoardRow]:
    """Score, rank and order rows: ranked by score (rating, then reports, break ties),
    then the unranked by reports."""
    least = min_reports()
    for row in rows:
        row.score = score_of(row)
        row.rank = None
    ranked = [r for r in rows if r.reports >= least and r.score is not None]
    ranked.sort(
        key=lambda r: (
            -r.score,
            -(r.average_rating if r.average_rating is not None else -1),
            -r.reports,
            r.name,
        )
    )
    for position, row in enumerate(ranked, start=1):
        row.rank = position
    unranked = sorted((r for r in rows if r.rank is None), key=lambda r: (-r.reports, r.name))
    return ranked + unranked


def red_and_black(rows: list[BoardRow]) -> tuple[list[BoardRow], list[BoardRow]]:
    """The red list (the best three ranked) and the black list (the worst three ranked
    that are not on the red list, worst first)."""
    ranked = [row for row in rows if row.ranked]
    red = ranked[:RED_SIZE]
    rest = ranked[RED_SIZE:]
    black = list(reversed(rest[-BLACK_SIZE:])) if rest else []
    return red, black
