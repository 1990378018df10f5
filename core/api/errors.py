"""One error shape for every API response:

{"error": {"status": 404, "code": "not_found", "message": "…"}}

plus ``fields`` (per-field messages) on 400 and ``retry_after`` (seconds) on 429 and 503.
Messages are translated into the request's language; headers DRF sets
(``WWW-Authenticate`` on 401, ``Retry-After`` on 429, ``Allow`` on 405) are kept.

The database being away (``OperationalError``, ``InterfaceError``: the server stopped,
restarting, unreachable) is a 503 ``unavailable`` with ``Retry-After``, not a 500.
"""

import logging
import math

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

log = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30  # what a 503 asks the client to wait


def error_body(status_code: int, code: str, message: str, **extra) -> dict:
    return {"error": {"status": status_code, "code": code, "message": str(message), **extra}}


def unavailable_message() -> str:
    return _("The service is temporarily unavailable. Please try again in a moment.")


def unavailable_response() -> JsonResponse:
    """503 in the one error shape, with ``Retry-After``: the database is away."""
    response = JsonResponse(
        error_body(503, "unavailable", unavailable_message(), retry_after=RETRY_AFTER_SECONDS),
        status=503,
        json_dumps_params={"ensure_ascii": False},
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _django_to_drf(exc):
    if isinstance(exc, Http404):
        # Never echo the Http404 text: a miss and a forbidden object look the same.
        return exceptions.NotFound(_("Not found."))
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    return exc


def _first_code(codes) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    if isinstance(codes, dict) and codes:
        return _first_code(next(iter(codes.values())))
    return "error"


def exception_handler(exc, context):
    if isinstance(exc, DATABASE_ERRORS):
        # the driver's message names hosts and ports: logged, never answered
        log.error("database unavailable: %s: %s", exc.__class__.__name__, exc)
        return unavailable_response()
    exc = _django_to_drf(exc)
    response = drf_exception_handler(exc, context)
    if response is None:  # not an API error: Django answers (500)
        return None
    detail = response.data
    extra = {}
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        message = _("The request is not valid.")
        extra["fields"] = detail if isinstance(detail, dict) else {"non_field_errors": detail}
    else:
        code = _first_code(exc.get_codes())
        message = detail.get("detail", "") if isinstance(detail, dict) else detail
        if isinstance(message, list):
            message = " ".join(str(m) for m in message)
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        wait = getattr(exc, "wait", None)
        if wait is not None:
            extra["retry_after"] = math.ceil(wait)
    response.data = error_body(response.status_code, code, message, **extra)
    return response


# It changes nothing, so a write to an unknown path gets the JSON 404, not CSRF's HTML 403.
@csrf_exempt
def not_found(request, *args, **kwargs):
    """404 for any path under /api/ that no endpoint answers, in the same shape.

    Like Django's APPEND_SLASH, a GET for ``/api/v1/dwellings`` is redirected to
    ``/api/v1/dwellings/`` when that exists (this catch-all would otherwise hide it).
    """
    path = request.path_info
    if settings.APPEND_SLASH and request.method in ("GET", "HEAD") and not path.endswith("/"):
        match = resolve_or_none(f"{path}/")
        if match is not None and match.func is not not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return JsonResponse(
        error_body(404, "not_found", _("Not found.")),
        status=404,
        json_dumps_params={"ensure_ascii": False},
    )


def resolve_or_none(path: str):
    try:
        return resolve(path)
    except Resolver404:
        return None
