"""The site while the database is away: a 503 "temporarily unavailable", never a 500.

``DatabaseUnavailableMiddleware`` sits near the top of ``MIDDLEWARE`` (outside the
sessions, authentication and two-factor middleware, which read the database). When
the database cannot be reached (``OperationalError`` or ``InterfaceError``), a page
answers ``templates/503.html`` and /api/ the API's one error shape, both with status
503 and ``Retry-After``.

A view's exception reaches :meth:`process_exception`. An exception raised inside
another middleware (loading the session's user, saving the session) has already been
turned into a 500 by Django when it gets here, so a receiver of
``got_request_exception`` (sent while the exception is being handled) marks the
request, and the 500 is replaced on its way out.

The 503 page is rendered without a request context: no context processor runs, so
nothing asks the database for the session's user or the navigation.

With ``DEBUG`` on, Django's debug page is kept (it explains more, and SQLite calls a
missing table an ``OperationalError`` too).
"""

import logging
import sys

from django.conf import settings
from django.core.signals import got_request_exception
from django.http import HttpResponse
from django.template import loader
from django.utils import translation

from core.api.errors import DATABASE_ERRORS, RETRY_AFTER_SECONDS, unavailable_response

log = logging.getLogger(__name__)

TEMPLATE = "503.html"
MARK = "_linli_database_unavailable"


def is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def unavailable_page(request) -> HttpResponse:
    language = translation.get_language_from_request(request)
    with translation.override(language):
        content = loader.render_to_string(
            TEMPLATE, {"retry_after": RETRY_AFTER_SECONDS, "LANGUAGE_CODE": language}
        )
    response = HttpResponse(content, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Content-Language"] = language
    response["Cache-Control"] = "no-store"
    return response


def unavailable(request) -> HttpResponse:
    return unavailable_response() if is_api(request) else unavailable_page(request)


def _mark_database_errors(sender, request=None, **kwargs):
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, DATABASE_ERRORS):
        setattr(request, MARK, True)


got_request_exception.connect(_mark_database_errors, dispatch_uid="linli-database-unavailable")


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, MARK, False) and not settings.DEBUG:
            return unavailable(request)
        return response

    def process_exception(self, request, exception):
        if settings.DEBUG or not isinstance(exception, DATABASE_ERRORS):
            return None
        log.error("database unavailable: %s: %s", exception.__class__.__name__, exception)
        return unavailable(request)
