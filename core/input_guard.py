"""Refusing a request whose parameters hold a NUL character (U+0000).

No text people type holds a NUL, and PostgreSQL cannot store or compare one: a
filter, a search or an autocomplete term with ``%00`` in it would end in a database
error (a 500) wherever a view passes it on - the admin's changelist filters
(``?name=%00``), its search (``?q=%00``), its autocomplete (``?term=%00``), the API's
filters. :class:`NulParameterGuard` answers such a request with a 400 before any view
runs, in the API's error shape under ``/api/`` and as a short text elsewhere:

* query parameters (names and values), on every request;
* form fields (names and values) and the names of uploaded files, for form posts
  (``application/x-www-form-urlencoded``, ``multipart/form-data``);
* every string (keys and values) of a JSON body, for JSON requests.

What is stored is checked by the services (``core.text.clean_text``); this guard only
makes a stray NUL harmless on the way in.
"""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

from core.api.errors import error_body

NUL = "\x00"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_JSON_NUL = (b"\\u0000", b"\x00")


def nul_message() -> str:
    return _(
        "The request holds a NUL character (U+0000), which no text may contain. "
        "Remove it and try again."
    )


def _in_querydict(data) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in data.lists())


def _in_json(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(NUL in key or _in_json(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_in_json(item) for item in value)
    return False


def request_has_nul(request) -> bool:
    """Whether a parameter, form field, file name or JSON string of ``request`` holds NUL."""
    if NUL in request.path_info or _in_querydict(request.GET):
        return True
    content_type = request.content_type or ""
    if request.method == "POST" and content_type in _FORM_TYPES:
        try:
            if _in_querydict(request.POST):
                return True
            files = request.FILES
        except MultiPartParserError:  # malformed: the view's own parser answers it
            return False
        return any(NUL in key or NUL in (upload.name or "") for key, upload in files.items())
    if content_type == "application/json" and request.method in ("POST", "PUT", "PATCH"):
        try:
            body = request.body
        except RequestDataTooBig:  # not read: the view's parser answers it
            return False
        if not any(marker in body for marker in _JSON_NUL):
            return False
        try:
            return _in_json(json.loads(body))
        except ValueError:  # not JSON (a raw NUL byte is never valid): the parser answers
            return False
    return False


class NulParameterGuard:
    """Answer 400 to a request whose parameters hold NUL (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request_has_nul(request):
            message = nul_message()
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    error_body(400, "invalid", message),
                    status=400,
                    json_dumps_params={"ensure_ascii": False},
                )
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
