"""Rows as Open311 fields: services, service definitions, service requests.

Nothing here reads a reporter: a request's fields are the category, the place, the
handler, the SLA and the public answers. The list's query is one query whatever its
length (:func:`request_rows`): the latest public answer and the first photo are
subqueries, the names are joined.
"""

from __future__ import annotations

import datetime

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from issues.models import (
    OPEN_STATUSES,
    AttributeType,
    EventKind,
    Issue,
    IssueEvent,
    IssuePhoto,
    Status,
)
from issues.selectors import LIST_RELATED

OPEN, CLOSED = "open", "closed"
#: Open311 status -> the report statuses it stands for
STATUS_GROUPS = {
    OPEN: tuple(OPEN_STATUSES),
    CLOSED: (Status.RESOLVED, Status.CLOSED, Status.REJECTED),
}
#: the timeline steps whose text is a public answer of the handler (status_notes);
#: residents' comments, reopen reasons and rating comments are left out
ANSWER_KINDS = (
    EventKind.ACKNOWLEDGED,
    EventKind.COMMITTED,
    EventKind.PROGRESS,
    EventKind.RESOLVED,
    EventKind.REJECTED,
)


def open311_status(status: str) -> str:
    return OPEN if status in OPEN_STATUSES else CLOSED


def w3c(value) -> str:
    """A W3C datetime in the site's time zone, e.g. ``2026-12-02T14:06:00+08:00``."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    # a date (the committed date): the end of that day
    end = datetime.datetime.combine(value, datetime.time(23, 59, 59))
    return timezone.make_aware(end).isoformat(timespec="seconds")


def _duration(hours: int) -> str:
    if hours >= 48 and hours % 24 == 0:
        days = hours // 24
        return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def service_notice(category) -> str:
    """The category's SLA, e.g. "Acknowledged within 24 hours, resolved within 7 days"."""
    return gettext("Acknowledged within %(acknowledge)s, resolved within %(resolve)s") % {
        "acknowledge": _duration(category.acknowledge_hours),
        "resolve": _duration(category.resolve_hours),
    }


# --- services ---------------------------------------------------------------------------------


def service_row(category) -> dict:
    """One entry of services.{json,xml}; ``category.attributes`` prefetched."""
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": bool(category.attributes.all()),
        "type": "realtime",
        "keywords": category.keywords,
        "group": category.group,
    }


def _value_name(value: dict) -> str:
    from django.utils.translation import get_language

    first, second = ("en", "zh") if (get_language() or "").startswith("en") else ("zh", "en")
    return value.get(f"name_{first}") or value.get(f"name_{second}") or value.get("key", "")


def attribute_row(attribute) -> dict:
    is_list = attribute.datatype in (AttributeType.SINGLE, AttributeType.MULTI)
    return {
        "variable": True,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": str(AttributeType(attribute.datatype).label),
        "order": attribute.position,
        "description": attribute.description,
        "values": (
            [{"key": v.get("key", ""), "name": _value_name(v)} for v in attribute.values]
            if is_list
            else []
        ),
    }


def service_definition(category) -> dict:
    return {
        "service_code": category.code,
        "attributes": [attribute_row(a) for a in category.attributes.all()],
    }


# --- service requests ------------------------------------------------------------------------


def public_requests():
    """Every report Open311 may show (not merged), with what its fields need, in one query.

    Scope it (a key's jurisdiction) with ``scope.filter`` before slicing.
    """
    answers = (
        IssueEvent.objects.filter(issue=OuterRef("pk"), public=True, kind__in=ANSWER_KINDS)
        .exclude(text="")
        .order_by("-created_at", "-id")
        .values("text")[:1]
    )
    photo = (
        IssuePhoto.objects.filter(issue=OuterRef("pk"), event__isnull=True)
        .order_by("id")
        .values("pk")[:1]
    )
    return (
        Issue.objects.exclude(status=Status.MERGED)
        .select_related(*LIST_RELATED)
        .annotate(open311_notes=Subquery(answers), open311_photo=Subquery(photo))
        .order_by("-created_at", "-id")
    )


def _address(issue) -> str:
    if issue.address:
        return issue.address
    if issue.building_id:
        return f"{issue.estate.name if issue.estate_id else ''}{issue.building.number}"
    if issue.estate_id:
        return issue.estate.address or issue.estate.name
    return ""


def _coordinate(value, fallback):
    value = value if value is not None else fallback
    return float(value) if value is not None else None


#: how long a media_url of an Open311 answer opens its photo
MEDIA_URL_DAYS = 7
MEDIA_SALT = "issues.open311.photo"


def _media_url(request, photo_id) -> str:
    """A signed link to the report's first photo (``open311:photo``): photos are not
    public files, and the link opens only while the report is public and for
    ``MEDIA_URL_DAYS``."""
    if not photo_id:
        return ""
    from django.core import signing
    from django.urls import reverse

    token = signing.dumps(photo_id, salt=MEDIA_SALT, compress=True)
    return request.build_absolute_uri(reverse("open311:photo", args=[token]))


def request_row(request, issue) -> dict:
    """One service request; ``issue`` from :func:`public_requests`."""
    category = issue.category
    estate = issue.estate if issue.estate_id else None
    notes = issue.reason if issue.status == Status.REJECTED and issue.reason else None
    return {
        "service_request_id": str(issue.pk),
        "status": open311_status(issue.status),
        "status_notes": notes or issue.open311_notes or "",
        "service_name": category.name,
        "service_code": category.code,
        "description": issue.description,
        "agency_responsible": str(issue.handler_label),
        "service_notice": service_notice(category),
        "requested_datetime": w3c(issue.created_at),
        "updated_datetime": w3c(issue.activity_at),
        "expected_datetime": w3c(issue.committed_due or issue.resolve_due),
        "address": _address(issue),
        "address_id": str(issue.building_id) if issue.building_id else "",
        "zipcode": "",
        "lat": _coordinate(issue.latitude, estate.latitude if estate else None),
        "long": _coordinate(issue.longitude, estate.longitude if estate else None),
        "media_url": _media_url(request, issue.open311_photo),
    }
