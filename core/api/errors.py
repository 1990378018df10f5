"""One error shape for every API response:

{"error": {"status": 404, "code": "not_found", "message": "…", "fields": {…}}}
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _django_to_drf(exc):
    if isinstance(exc, Http404):
        return exceptions.NotFound(_("Not found."))
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    return exc


def exception_handler(exc, context):
    exc = _django_to_drf(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    fields = None
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        message = _("The request is not valid.")
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        message = detail.get("detail", "") if isinstance(detail, dict) else str(detail)
    body = {"error": {"status": response.status_code, "code": code, "message": str(message)}}
    if fields is not None:
        body["error"]["fields"] = fields
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and hasattr(exc, "wait"):
        body["error"]["retry_after"] = exc.wait
    return Response(body, status=response.status_code, headers=dict(response.items()))
