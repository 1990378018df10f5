"""Reads of reports (issues): the staff lists, the public lists, the inbox, one report.

Every staff read goes through :func:`issues_visible_to` (``core.scoping``), every
resident read through :func:`public_issues_for`; both join what a list row shows
(category, property company, department, neighbourhood, estate, building), so a list
is a fixed number of queries whatever its length. A report outside the caller's reach
is a 404, the same as a missing one.
"""

from __future__ import annotations

import datetime
import re

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from buildings.permissions import HANDLE_ISSUES
from core.scoping import scope_for

from ..models import (
    OPEN_STATUSES,
    Category,
    CategoryAttribute,
    HandlerLevel,
    Issue,
    Status,
)

#: what a list row and ``Issue.handler_label`` read
LIST_RELATED = (
    "category",
    "property_company",
    "department",
    "neighbourhood",
    "estate",
    "building",
)

#: sort key -> order_by (the list pages' ``?sort=``)
SORTS = {
    "newest": ("-id",),
    "upvotes": ("-upvote_count", "-id"),
    "updated": ("-activity_at", "-id"),
    "due": ("due_at", "id"),
}
DEFAULT_SORT = "newest"


def _joined(queryset: QuerySet) -> QuerySet:
    return queryset.select_related(*LIST_RELATED)


# --- staff -------------------------------------------------------------------------------


def issues_visible_to(*, user, perm: str = HANDLE_ISSUES) -> QuerySet[Issue]:
    """The reports ``user`` may see as staff: a grant on an estate covers that estate's
    reports, one on a neighbourhood its reports, one on a subdistrict or district all
    under it. Nothing for a user without the permission anywhere."""
    return _joined(scope_for(user, perm).filter(Issue.objects.all()))


def access_issue(*, user, pk, perm: str = HANDLE_ISSUES) -> Issue:
    """One report in ``user``'s staff scope, joined; Http404 when missing or out of scope."""
    try:
        return issues_visible_to(user=user, perm=perm).get(pk=pk)
    except (Issue.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def inbox_for(
    *,
    user,
    level_filter: str | None = None,
    status: str | None = None,
    category=None,
    overdue: bool | None = None,
    now=None,
) -> QuerySet[Issue]:
    """The reports ``user`` handles, the most urgent first (``due_at``, overdue first).

    * a grant on an estate or building (property staff): the property-level reports there;
    * a grant on a neighbourhood (cadres, the secretary, grid workers): every report in
      it, whatever level holds it, since the committee oversees them all;
    * a grant on a subdistrict or district whole (department, district staff): the
      department-level reports there, of the departments the user staffs (and those not
      yet given to one); a user who staffs no department sees them all.

    Open reports unless ``status`` names another; ``level_filter`` narrows to one
    handler level, ``category`` to a category (instance or id), ``overdue`` to reports
    past (True, "1", "yes") or within (False, "0", "no") their deadline. Unknown values
    are ignored.
    """
    scope = scope_for(user, HANDLE_ISSUES)
    queryset = Issue.objects.all()
    if scope.is_empty:
        return queryset.none()
    if not scope.everything:
        held = Q(pk__in=[])
        if scope.estate_ids or scope.building_ids:
            at_property = Q(estate_id__in=sorted(scope.estate_ids)) | Q(
                building_id__in=sorted(scope.building_ids)
            )
            held |= Q(handler_level=HandlerLevel.PROPERTY) & at_property
        if scope.narrow_neighbourhood_ids:
            held |= Q(neighbourhood_id__in=sorted(scope.narrow_neighbourhood_ids))
        if scope.subdistrict_ids or scope.district_ids:
            wide = Q(subdistrict_id__in=sorted(scope.subdistrict_ids)) | Q(
                district_id__in=sorted(scope.district_ids)
            )
            department_ids = list(user.departments.values_list("pk", flat=True))
            mine = Q()
            if department_ids:
                mine = Q(department_id__in=department_ids) | Q(department__isnull=True)
            held |= Q(handler_level=HandlerLevel.DEPARTMENT) & wide & mine
        queryset = queryset.filter(held)
    if status in Status.values:
        queryset = queryset.filter(status=status)
    else:
        queryset = queryset.filter(status__in=OPEN_STATUSES)
    if level_filter in HandlerLevel.values:
        queryset = queryset.filter(handler_level=level_filter)
    category_id = _category_id(category)
    if category_id is not None:
        queryset = queryset.filter(category_id=category_id)
    overdue = _yes_no(overdue)
    if overdue is not None:
        now = now or timezone.now()
        if overdue:
            queryset = queryset.filter(due_at__lt=now)
        else:
            queryset = queryset.filter(Q(due_at__gte=now) | Q(due_at__isnull=True))
    return _joined(queryset).order_by("due_at", "id")


# --- residents ---------------------------------------------------------------------------


def public_issues_for(*, neighbourhood_id) -> QuerySet[Issue]:
    """What the residents of a neighbourhood see: every report there but the merged ones
    (whose page leads to the report they were merged into). Rejected reports stay, with
    their reason: every report gets an answer (件件有答复)."""
    return _joined(
        Issue.objects.filter(neighbourhood_id=neighbourhood_id).exclude(status=Status.MERGED)
    )


def resident_neighbourhood_id(user) -> int | None:
    """The neighbourhood of the verified resident ``user`` is, or None (one small query,
    cached on the user: ``issues.permissions.resident_place``)."""
    from ..permissions import resident_place

    place = resident_place(user)
    return place[0] if place else None


def access_public_issue(*, user, pk) -> Issue:
    """One report as a resident sees it: for a verified resident of its neighbourhood,
    its reporter, or staff whose scope covers it; Http404 otherwise (and when missing).
    A merged report is returned too: its page redirects to ``merged_into``."""
    try:
        issue = _joined(Issue.objects.all()).get(pk=pk)
    except (Issue.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if user is None or not getattr(user, "is_authenticated", False):
        raise Http404
    if issue.reporter_id is not None and issue.reporter_id == user.pk:
        return issue
    if scope_for(user, HANDLE_ISSUES).covers(
        neighbourhood_id=issue.neighbourhood_id,
        estate_id=issue.estate_id,
        building_id=issue.building_id,
    ):
        return issue
    if resident_neighbourhood_id(user) == issue.neighbourhood_id:
        return issue
    raise Http404


def issues_reported_by(*, user) -> QuerySet[Issue]:
    """The reports ``user`` made, newest first (merged ones too: they say where to)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Issue.objects.none()
    return _joined(Issue.objects.filter(reporter=user)).order_by("-id")


def similar_open_issues(
    *, category_id, neighbourhood_id, building_id=None, estate_id=None, limit: int = 5
) -> list[Issue]:
    """Open reports of the same category nearby, for "me too" before a new one: those of
    the same building first, then the rest of the estate (or of the neighbourhood, for a
    report with no estate), newest first within each."""
    base = _joined(
        Issue.objects.filter(
            category_id=category_id, neighbourhood_id=neighbourhood_id, status__in=OPEN_STATUSES
        )
    )
    if estate_id is not None:
        base = base.filter(estate_id=estate_id)
    found: list[Issue] = []
    if building_id is not None:
        found = list(base.filter(building_id=building_id).order_by("-id")[:limit])
        if len(found) >= limit:
            return found
        base = base.exclude(building_id=building_id)
    found += list(base.order_by("-id")[: limit - len(found)])
    return found


# --- lists: filters and order --------------------------------------------------------------


def _category_id(category) -> int | None:
    if category in (None, ""):
        return None
    if isinstance(category, Category):
        return category.pk
    try:
        return int(category)
    except (TypeError, ValueError):
        return None


def _yes_no(value) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    return {"1": True, "yes": True, "true": True, "0": False, "no": False, "false": False}.get(
        str(value).strip().lower()
    )


def _int_or_none(value) -> int | None:
    if value in (None, ""):
        return None
    if hasattr(value, "pk"):
        return value.pk
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def issue_filters(queryset, *, category=None, status=None, estate=None, building=None, q=None):
    """Narrow a report list by the list pages' filters; a value that is not one (an
    unknown status, a category that is not a number) is ignored. ``status`` "open"
    means any open status. ``q`` is a report number ("#12" or "12") or words of the
    description."""
    category_id = _category_id(category)
    if category_id is not None:
        queryset = queryset.filter(category_id=category_id)
    if status == "open":
        queryset = queryset.filter(status__in=OPEN_STATUSES)
    elif status in Status.values:
        queryset = queryset.filter(status=status)
    estate_id = _int_or_none(estate)
    if estate_id is not None:
        queryset = queryset.filter(estate_id=estate_id)
    building_id = _int_or_none(building)
    if building_id is not None:
        queryset = queryset.filter(building_id=building_id)
    q = (q or "").strip()
    if q:
        number = q.lstrip("#")
        if number.isdigit():
            queryset = queryset.filter(Q(pk=int(number)) | Q(description__icontains=q))
        else:
            queryset = queryset.filter(description__icontains=q)
    return queryset


def issue_order(queryset, sort):
    """Order a report list by one of :data:`SORTS`; anything else is "newest"."""
    return queryset.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


# --- the residents' list: keyset pages ------------------------------------------------------

#: what a row of the residents' list reads (the names it shows are joined)
PUBLIC_ROW_FIELDS = (
    "id",
    "status",
    "description",
    "address",
    "upvote_count",
    "created_at",
    "activity_at",
    "neighbourhood",
    "estate",
    "category__name_zh",
    "category__name_en",
    "building__number",
)

#: sort -> the key a page is cut on (each descending, ``id`` breaking ties)
_SEEK_KEYS = {"newest": (), "upvotes": ("upvote_count",), "updated": ("activity_at",)}
_CURSOR_RE = re.compile(r"^(n|u|a)((?:\.\d{1,19})?)\.(\d{1,19})$")
_CURSOR_SORT = {"n": "newest", "u": "upvotes", "a": "updated"}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _micros(value: datetime.datetime) -> int:
    return (value - _EPOCH) // datetime.timedelta(microseconds=1)


def page_cursor(issue, sort: str) -> str:
    """The cursor of the page after ``issue`` (the last row shown) in ``sort``: the sort's
    key and the id, as a short plain token ("n.42", "u.7.42", "a.<microseconds>.42")."""
    if sort == "upvotes":
        return f"u.{issue.upvote_count}.{issue.pk}"
    if sort == "updated":
        return f"a.{_micros(issue.activity_at)}.{issue.pk}"
    return f"n.{issue.pk}"


def parse_cursor(token, sort: str):
    """``(key value or None, id)`` from a cursor of ``sort``; None for anything else (a
    forged, truncated or other sort's cursor: the list starts again from the top)."""
    match = _CURSOR_RE.match(str(token or ""))
    if match is None or _CURSOR_SORT[match[1]] != sort:
        return None
    has_value = bool(match[2])
    if has_value != bool(_SEEK_KEYS[sort]):
        return None
    pk = int(match[3])
    if not has_value:
        return None, pk
    number = int(match[2][1:])
    if sort == "updated":
        try:
            return _EPOCH + datetime.timedelta(microseconds=number), pk
        except OverflowError:
            return None
    if number > 2**31:
        return None
    return number, pk


def public_issue_page(
    *, neighbourhood_id, filters=None, sort: str = DEFAULT_SORT, cursor=None, size: int = 20
) -> QuerySet[Issue]:
    """One page of the residents' list, cut on the sort's key (keyset, "seek" paging): the
    rows after ``cursor`` (see :func:`parse_cursor`; None for the first page), ``size + 1``
    of them so the caller knows whether there is a next page, never a COUNT or an OFFSET.

    The rows are Issue instances with :data:`PUBLIC_ROW_FIELDS` loaded (the category's
    names and the building's number joined). Each sort walks its index
    ((neighbourhood, -id), (neighbourhood, -upvote_count, -id), (neighbourhood,
    -activity_at)); the cursor adds ``key <= value`` so the index starts at the cut.
    """
    if sort not in _SEEK_KEYS:
        sort = DEFAULT_SORT
    # what residents see (public_issues_for), joined only to the names a row shows
    visible = public_issues_for(neighbourhood_id=neighbourhood_id).select_related(None)
    queryset = issue_filters(visible, **(filters or {}))
    after = parse_cursor(cursor, sort) if cursor else None
    if after is not None:
        value, pk = after
        if sort == "newest":
            queryset = queryset.filter(pk__lt=pk)
        else:
            key = _SEEK_KEYS[sort][0]
            queryset = queryset.filter(
                Q(**{f"{key}__lt": value}) | Q(**{key: value, "pk__lt": pk}),
                **{f"{key}__lte": value},
            )
    return (
        queryset.select_related("category", "building")
        .only(*PUBLIC_ROW_FIELDS)
        .order_by(*SORTS[sort])[: size + 1]
    )


# --- categories -------------------------------------------------------------------------


def categories_active() -> QuerySet[Category]:
    """The categories a report may be made in, their attributes prefetched in order."""
    return Category.objects.filter(active=True).prefetch_related(
        Prefetch("attributes", queryset=CategoryAttribute.objects.order_by("position", "id"))
    )
