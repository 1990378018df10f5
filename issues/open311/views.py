"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), JSON and XML.

Reads are public while ``LINLI_OPEN311_PUBLIC_READ`` holds (default on): every report
but the merged ones, never a reporter's name or contact. An ``api_key`` (parameter, or
the ``Authorization: Api-Key …`` header) narrows reads to the key's jurisdiction and
needs ``issues:read``; POST needs ``issues:write`` and places the report inside the
jurisdiction (:mod:`issues.open311.locate`). Errors are the spec's list of
``{code, description}``. See docs/open311.md.
"""

from __future__ import annotations

import datetime
import re
from functools import wraps
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf_exceptions

from core.api.authentication import ApiKeyAuthentication
from core.api.throttling import AnonRateThrottle, ApiKeyRateThrottle
from core.pages import public_page
from issues.apps import ISSUES_READ, ISSUES_WRITE
from issues.models import EventKind, Issue, IssueEvent, Source
from issues.selectors import categories_active
from issues.services import clean_attributes, issue_create

from . import serializers as fields
from .locate import locate, parse_coordinates
from .renderers import render, render_errors

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00+08:00"  # when these endpoints last changed
DEFAULT_MAX_REQUESTS = 1000
DEFAULT_DAYS = 90
FORMATS = ["application/json", "text/xml"]


class Open311Error(Exception):
    def __init__(self, status: int, *descriptions, headers=None):
        super().__init__(*descriptions)
        self.status = status
        self.descriptions = [str(d) for d in descriptions]
        self.headers = headers or {}


def _language(request) -> str | None:
    """``?locale=`` (en, zh, zh-hans, en-US …) when it names a site language."""
    locale = (request.GET.get("locale") or "").strip().lower().replace("_", "-")
    if not locale:
        return None
    try:
        return translation.get_supported_language_variant(
            "zh-hans" if locale.startswith("zh") else locale
        )
    except LookupError:
        return None


def open311_view(*methods):
    """Marks a public endpoint (page walk), CSRF-exempt (API-key authenticated), that
    answers errors in the spec's shape and in the format of the extension."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, fmt, **kwargs):
            with translation.override(_language(request) or translation.get_language()):
                try:
                    if request.method not in methods:
                        raise Open311Error(405, gettext("Method not allowed."))
                    _check_jurisdiction(request)
                    return view(request, *args, fmt=fmt, **kwargs)
                except Open311Error as exc:
                    response = render_errors(fmt, exc.status, exc.descriptions)
                    for name, value in exc.headers.items():
                        response[name] = value
                    return response

        return public_page(csrf_exempt(wrapper))

    return decorator


def _params(request):
    return request.POST if request.method == "POST" else request.GET


def _check_jurisdiction(request) -> None:
    given = (_params(request).get("jurisdiction_id") or "").strip().lower()
    if not given:
        return
    configured = getattr(settings, "LINLI_OPEN311_JURISDICTION", "")
    host = request.get_host().lower()
    accepted = {configured.lower()} if configured else {host, host.split(":")[0]}
    if given not in accepted:
        raise Open311Error(
            404,
            gettext(
                "jurisdiction_id “%(given)s” is not served here; use “%(ours)s” or leave it out."
            )
            % {"given": given, "ours": configured or host},
        )


# --- API keys ----------------------------------------------------------------------------------


def _principal(request):
    """The key's principal from ``api_key`` or the Authorization header; None without one."""
    raw = (_params(request).get("api_key") or "").strip()
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if raw:
        header = f"Api-Key {raw}"
    elif not header.lower().startswith("api-key "):
        return None
    try:
        found = ApiKeyAuthentication().authenticate(
            SimpleNamespace(META={"HTTP_AUTHORIZATION": header}, headers={"authorization": header})
        )
    except drf_exceptions.APIException as exc:
        raise Open311Error(403, exc.detail) from None
    return found[0] if found else None


def _require_scope(principal, scope: str) -> None:
    if not principal.has_scope(scope):
        raise Open311Error(
            403, gettext("This API key lacks the scope “%(scope)s”.") % {"scope": scope}
        )


def _throttle(request, principal) -> None:
    throttle = ApiKeyRateThrottle() if principal is not None else AnonRateThrottle()
    who = SimpleNamespace(
        user=principal or AnonymousUser(), META=request.META, headers=request.headers
    )
    if not throttle.allow_request(who, None):
        wait = throttle.wait()
        raise Open311Error(
            429,
            gettext("Too many requests; try again later."),
            headers={"Retry-After": str(int(wait or 1))},
        )


def _reader(request):
    """The principal a read is made with (None: the public), or a 403."""
    principal = _principal(request)
    if principal is None:
        if not getattr(settings, "LINLI_OPEN311_PUBLIC_READ", True):
            raise Open311Error(
                403,
                gettext("An api_key with the scope “%(scope)s” is required.")
                % {"scope": ISSUES_READ},
            )
    else:
        _require_scope(principal, ISSUES_READ)
    _throttle(request, principal)
    return principal


def _visible(principal, queryset):
    return queryset if principal is None else principal.linli_scope(()).filter(queryset)


# --- discovery and services ------------------------------------------------------------------


@open311_view("GET", "HEAD")
def discovery(request, fmt):
    url = request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": fmt}))
    body = {
        "changeset": CHANGESET,
        "contact": getattr(settings, "LINLI_OPEN311_CONTACT", "")
        or gettext("The district's Linli administrators."),
        "key_service": getattr(settings, "LINLI_OPEN311_KEY_SERVICE", "")
        or gettext("API keys are issued by the district's Linli administrators."),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url.rsplit("/", 1)[0],
                "changeset": CHANGESET,
                "type": "production",
                "formats": FORMATS,
            }
        ],
    }
    return render(fmt, "discovery", body)


@open311_view("GET", "HEAD")
def services(request, fmt):
    rows = [fields.service_row(category) for category in categories_active()]
    return render(fmt, "services", rows)


@open311_view("GET", "HEAD")
def service_definition(request, fmt, code):
    category = categories_active().filter(code=code).first()
    if category is None:
        raise Open311Error(404, gettext("No service has the code “%(code)s”.") % {"code": code})
    return render(fmt, "service_definition", fields.service_definition(category))


# --- service requests ------------------------------------------------------------------------


def _split(value) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _when(params, name):
    value = (params.get(name) or "").strip()
    if not value:
        return None
    value = re.sub(r" (\d{2}:?\d{2})$", r"+\1", value)  # a "+" the query string made a space
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is not None:
                moment = datetime.datetime.combine(day, datetime.time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise Open311Error(
            400,
            gettext("%(name)s is not a W3C datetime (e.g. 2026-05-24T08:00:00+08:00).")
            % {"name": name},
        )
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _filtered(params, queryset):
    ids = _split(params.get("service_request_id"))
    if ids:  # overrides every other parameter, as the spec says
        if not all(part.isdigit() for part in ids):
            raise Open311Error(400, gettext("service_request_id takes ids separated by commas."))
        return queryset.filter(pk__in=[int(part) for part in ids])
    codes = _split(params.get("service_code"))
    if codes:
        queryset = queryset.filter(category__code__in=codes)
    wanted = [part.lower() for part in _split(params.get("status"))]
    if wanted:
        unknown = [part for part in wanted if part not in fields.STATUS_GROUPS]
        if unknown:
            raise Open311Error(400, gettext("status takes open, closed or both."))
        statuses = [s for part in wanted for s in fields.STATUS_GROUPS[part]]
        queryset = queryset.filter(status__in=statuses)
    start, end = _when(params, "start_date"), _when(params, "end_date")
    if start is None:
        start = (end or timezone.now()) - datetime.timedelta(days=DEFAULT_DAYS)
    queryset = queryset.filter(created_at__gte=start)
    if end is not None:
        queryset = queryset.filter(created_at__lte=end)
    return queryset


@open311_view("GET", "HEAD", "POST")
def requests_(request, fmt):
    if request.method == "POST":
        return _create(request, fmt)
    principal = _reader(request)
    queryset = _filtered(request.GET, _visible(principal, fields.public_requests()))
    limit = getattr(settings, "LINLI_OPEN311_MAX_REQUESTS", DEFAULT_MAX_REQUESTS)
    rows = [fields.request_row(request, issue) for issue in queryset[:limit]]
    return render(fmt, "service_requests", rows)


@open311_view("GET", "HEAD")
def request_detail(request, fmt, request_id):
    principal = _reader(request)
    issue = None
    if request_id.isdigit():
        issue = _visible(principal, fields.public_requests()).filter(pk=int(request_id)).first()
    if issue is None:
        raise Open311Error(404, gettext("No service request has this id."))
    return render(fmt, "service_requests", [fields.request_row(request, issue)])


@open311_view("GET", "HEAD")
def token_detail(request, fmt, token):
    principal = _reader(request)
    found = (
        _visible(principal, Issue.objects.filter(open311_token=token))
        .values_list("pk", "merged_into_id")
        .first()
    )
    if found is None:
        raise Open311Error(404, gettext("No service request has this token."))
    pk, merged_into = found
    # a merged report answers with the report it was merged into (the public one)
    body = [{"service_request_id": str(merged_into or pk), "token": token}]
    return render(fmt, "service_requests", body)


@public_page
def photo(request, token):
    """The photo a public answer's ``media_url`` names, while its link is fresh, the report
    public (not merged) and public reading on; else 404."""
    import datetime as _dt

    from django.core import signing
    from django.http import Http404

    from issues.models import IssuePhoto, Status
    from issues.views.photos import stored_photo_response

    if request.method not in ("GET", "HEAD") or not getattr(
        settings, "LINLI_OPEN311_PUBLIC_READ", True
    ):
        raise Http404
    try:
        photo_id = signing.loads(
            token,
            salt=fields.MEDIA_SALT,
            max_age=_dt.timedelta(days=fields.MEDIA_URL_DAYS),
        )
    except signing.BadSignature:
        raise Http404 from None
    found = (
        IssuePhoto.objects.filter(pk=photo_id)
        .exclude(issue__status=Status.MERGED)
        .values_list("image", flat=True)
        .first()
    )
    if not found:
        raise Http404
    return stored_photo_response(found, cache="public, max-age=3600")


# --- POST requests ---------------------------------------------------------------------------

MAX_DESCRIPTION = 2000
#: what a client may send beyond the report: kept on the "submitted" step's data
EXTRA_FIELDS = ("media_url", "device_id", "account_id")


def _messages(exc: ValidationError, label: str = "{}") -> list[str]:
    """Each message; a dict's named by its field (``label`` formats the name)."""
    if hasattr(exc, "error_dict"):
        return [
            f"{label.format(name)}: {message}" if name != "__all__" else message
            for name, errors in exc.message_dict.items()
            for message in errors
        ]
    return list(exc.messages)


def _raw_attributes(params, category) -> dict:
    """``attribute[code]=value``; ``attribute[code][]=a&attribute[code][]=b`` for lists."""
    multi = {a.code for a in category.attributes.all() if a.datatype == "multivaluelist"}
    raw = {}
    for name in params:
        match = re.fullmatch(r"attribute\[([^\]]+)\](\[\])?", name)
        if not match:
            continue
        code, values = match.group(1), [v for v in params.getlist(name) if v != ""]
        if not values:
            continue
        raw[code] = values if (code in multi or match.group(2)) else values[-1]
    return raw


def _contact(params) -> dict:
    first = (params.get("first_name") or "").strip()
    last = (params.get("last_name") or "").strip()
    # Chinese names are family name first, unspaced: 张 + 三 → 张三
    cjk = any(ord(ch) > 0x2E7F for ch in first + last)
    name = f"{last}{first}" if cjk else " ".join(part for part in (first, last) if part)
    phone = (params.get("phone") or "").strip()
    email = (params.get("email") or "").strip()
    errors = []
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append(gettext("email is not a valid e-mail address."))
    if len(phone) > 30:
        errors.append(gettext("phone is longer than 30 characters."))
    if errors:
        raise Open311Error(400, *errors)
    return {"contact_name": name[:50], "contact_phone": phone, "contact_email": email}


def _create(request, fmt):
    params = request.POST
    principal = _principal(request)
    if principal is None:
        raise Open311Error(403, gettext("api_key is required to post a service request."))
    _require_scope(principal, ISSUES_WRITE)
    _throttle(request, principal)

    code = (params.get("service_code") or "").strip()
    category = categories_active().filter(code=code).first() if code else None
    if category is None:
        raise Open311Error(
            400, gettext("service_code “%(code)s” is not a service here.") % {"code": code}
        )
    description = (params.get("description") or "").strip()
    if not description:
        raise Open311Error(400, gettext("description is required."))
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(
            400,
            gettext("description is longer than %(max)d characters.") % {"max": MAX_DESCRIPTION},
        )
    contact = _contact(params)
    address = (params.get("address_string") or "").strip()[:200]
    try:
        coordinates = parse_coordinates(params.get("lat"), params.get("long"))
        attributes = clean_attributes(category=category, raw=_raw_attributes(params, category))
        place = locate(
            api_key=principal.api_key,
            scope=principal.linli_scope(()),
            address_id=params.get("address_id", ""),
            coordinates=coordinates,
            address_string=address,
        )
    except ValidationError as exc:
        raise Open311Error(400, *_messages(exc, label="attribute[{}]")) from None
    extra = {
        name: params.get(name, "").strip()[:500]
        for name in EXTRA_FIELDS
        if params.get(name, "").strip()
    }
    try:
        with transaction.atomic():
            issue = issue_create(
                category=category,
                description=description,
                source=Source.OPEN311,
                api_key=principal.api_key,
                neighbourhood=place.neighbourhood,
                estate=place.estate,
                building=place.building,
                address=address,
                latitude=coordinates[0] if coordinates else None,
                longitude=coordinates[1] if coordinates else None,
                attributes=attributes,
                with_token=True,
                **contact,
            )
            if extra:  # the client's media_url, device and account: text, never fetched
                _keep_extra(issue, extra)
    except ValidationError as exc:
        raise Open311Error(400, *_messages(exc)) from None
    except PermissionDenied as exc:
        raise Open311Error(403, str(exc) or gettext("Not allowed.")) from None
    body = [
        {
            "service_request_id": str(issue.pk),
            "token": issue.open311_token,
            "service_notice": fields.service_notice(category),
            "account_id": extra.get("account_id", ""),
        }
    ]
    return render(fmt, "service_requests", body, status=201)


def _keep_extra(issue, extra: dict) -> None:
    event = IssueEvent.objects.filter(issue=issue, kind=EventKind.SUBMITTED).order_by("id").first()
    if event is not None:
        event.data = {**(event.data or {}), "open311": extra}
        event.save(update_fields=["data"])
