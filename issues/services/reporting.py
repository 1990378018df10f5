"""A new report (随手拍) and its photos.

``issue_create`` validates the category's questions (:func:`clean_attributes`), the text
and the place, stores the photos (before the transaction; deleted again if it fails),
routes the report (``routing.route``), makes the reporter its first follower, writes the
"submitted" step, tells the handlers and publishes ``issue.created``.
"""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from ..models import (
    AttributeType,
    Category,
    EventKind,
    Follow,
    Issue,
    IssuePhoto,
    Source,
)
from ..permissions import may_handle, may_report
from . import routing
from .checks import TEXT_MAX, optional_text, required_text
from .photos import attach_photos, check_count, stored_photos
from .timeline import (
    EVENT_CREATED,
    KIND_NEW,
    link,
    notice_context,
    now_or,
    publish,
    reporter_label,
    step,
)

ATTRIBUTE_TEXT_MAX = {AttributeType.STRING: 200, AttributeType.TEXT: 2000}


# --- attributes --------------------------------------------------------------------------


def clean_attributes(*, category: Category, raw: dict) -> dict:
    """The category's answers in ``raw`` (code → value), checked and normalised: numbers
    parsed, date-times ISO, list answers among the keys (a multi-list a list of keys).
    Unknown codes are dropped. Raises ValidationError({code: message})."""
    raw = raw or {}
    errors: dict[str, ValidationError] = {}
    cleaned: dict = {}
    for attribute in category.attributes.all():
        value = raw.get(attribute.code)
        empty = value is None or value == "" or value == []
        if empty:
            if attribute.required:
                errors[attribute.code] = ValidationError(
                    _("This question needs an answer."), code="required"
                )
            continue
        try:
            cleaned[attribute.code] = _clean_value(attribute, value)
        except ValidationError as error:
            errors[attribute.code] = error
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_value(attribute, value):
    datatype = attribute.datatype
    if datatype in (AttributeType.STRING, AttributeType.TEXT):
        from core.text import clean_text

        text = clean_text(value, multiline=datatype == AttributeType.TEXT)
        limit = ATTRIBUTE_TEXT_MAX[datatype]
        if len(text) > limit:
            raise ValidationError(
                _("At most %(max)d characters.") % {"max": limit}, code="max_length"
            )
        return text
    if datatype == AttributeType.NUMBER:
        if isinstance(value, bool):
            raise ValidationError(_("Enter a number."), code="number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError(_("Enter a number."), code="number") from None
        if not number.is_finite():
            raise ValidationError(_("Enter a number."), code="number")
        return int(number) if number == number.to_integral_value() else float(number)
    if datatype == AttributeType.DATETIME:
        parsed = None
        if isinstance(value, datetime.datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
        if parsed is None:
            raise ValidationError(
                _("Enter a date and time (ISO 8601, e.g. 2024-05-01T08:30)."), code="datetime"
            )
        return parsed.isoformat()
    keys = [str(v.get("key")) for v in attribute.values]
    if datatype == AttributeType.SINGLE:
        if str(value) not in keys:
            raise ValidationError(_("Pick one of the answers offered."), code="choice")
        return str(value)
    # multivaluelist
    values = value if isinstance(value, list | tuple) else [value]
    chosen = []
    for item in values:
        if str(item) not in keys:
            raise ValidationError(_("Pick among the answers offered."), code="choice")
        if str(item) not in chosen:
            chosen.append(str(item))
    return chosen


# --- the place ---------------------------------------------------------------------------


def _set_place(issue: Issue, *, neighbourhood, estate, building) -> None:
    if building is not None:
        issue.building = building
        issue.estate_id = building.estate_id
        issue.copy_place_from_parent()
    elif estate is not None:
        issue.estate = estate
        issue.neighbourhood_id = estate.neighbourhood_id
    elif neighbourhood is not None:
        issue.neighbourhood = neighbourhood
    else:
        raise ValidationError(
            {"neighbourhood": ValidationError(_("Say where the problem is."), code="required")}
        )
    issue.copy_wide_from_neighbourhood()


# --- create ------------------------------------------------------------------------------


def issue_create(
    *,
    category: Category,
    description: str,
    source: str,
    reporter=None,
    entered_by=None,
    api_key=None,
    neighbourhood=None,
    estate=None,
    building=None,
    address: str = "",
    latitude=None,
    longitude=None,
    attributes: dict | None = None,
    photos=(),
    reporter_public: bool = False,
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    external_id: str = "",
    with_token: bool = False,
    now=None,
) -> Issue:
    """Record a new report and route it (see the module docstring)."""
    now = now_or(now)
    if source not in Source.values:
        raise ValueError(f"unknown source {source!r}")
    if not category.active:
        raise ValidationError(
            {"category": ValidationError(_("This category is no longer in use."), code="inactive")}
        )
    description = required_text(
        description,
        field="description",
        max_length=TEXT_MAX,
        message=_("Describe the problem."),
    )
    address = optional_text(address, field="address", max_length=200)
    cleaned = clean_attributes(category=category, raw=attributes or {})
    photos = [p for p in (photos or ()) if p]
    check_count(photos)

    issue = Issue(
        category=category,
        description=description,
        attributes=cleaned,
        address=address,
        latitude=latitude,
        longitude=longitude,
        source=source,
        external_id=external_id or "",
        reporter=reporter,
        reporter_public=bool(reporter_public) and reporter is not None,
        contact_name=contact_name or "",
        contact_phone=contact_phone or "",
        contact_email=contact_email or "",
        entered_by=entered_by,
        api_key=api_key,
        open311_token=secrets.token_hex(16) if with_token else "",
        created_at=now,
        activity_at=now,
    )
    _set_place(issue, neighbourhood=neighbourhood, estate=estate, building=building)
    if source == Source.WEB and not may_report(reporter, issue.neighbourhood_id):
        raise PermissionDenied(_("Only verified residents of this neighbourhood may report here."))
    if source == Source.STAFF and not (entered_by is not None and may_handle(entered_by, issue)):
        raise PermissionDenied(_("You do not handle reports of this place."))
    routing.route(issue, now=now)

    issue.follower_count = 1 if reporter is not None else 0  # the reporter follows
    with stored_photos(photos) as stored, transaction.atomic():
        issue.save()
        if issue.created_at != now:  # auto_now_add wins on save; keep the travelled time
            Issue.objects.filter(pk=issue.pk).update(created_at=now)
            issue.created_at = now
        if reporter is not None:
            Follow.objects.create(issue=issue, user=reporter)
        if reporter is not None:
            label = reporter_label(issue)
        elif source == Source.STAFF:
            label = _("a caller")
        else:  # the hotline, an Open311 or API client
            label = str(Source(source).label)
        event = step(
            issue,
            kind=EventKind.SUBMITTED,
            now=now,
            actor=reporter,
            label=label,
            data={"source": source, "handler_level": issue.handler_level},
        )
        attach_photos(issue, None, stored, reporter or entered_by)
        _notify_handlers(issue, event)
        publish(issue, EVENT_CREATED)
    return issue


def _notify_handlers(issue: Issue, event) -> None:
    from notifications.services import notify

    notify(
        recipients=routing.handler_recipients(issue),
        kind=KIND_NEW,
        obj=issue,
        context=notice_context(issue, event),
        key="submitted",
        neighbourhood=issue.neighbourhood_id,
        url=link("issues:handle", issue.pk),
        now=event.created_at,
    )


def photo_add(*, issue: Issue, actor, upload, event=None) -> IssuePhoto:
    """One more photo of a report (the reporter or a handler), or of a step of it."""
    from .workflow import locked

    if event is not None and event.issue_id != issue.pk:
        raise ValueError("the step is not of this report")
    allowed = (actor is not None and actor.pk == issue.reporter_id) or may_handle(actor, issue)
    if not allowed:
        raise PermissionDenied(_("You may not add photos to this report."))
    with stored_photos([upload]) as stored, transaction.atomic():
        issue = locked(issue.pk)
        check_count([upload], already=issue.photos.filter(event=event).count())
        (photo,) = attach_photos(issue, event, stored, actor)
    return photo
