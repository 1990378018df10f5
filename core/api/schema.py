"""OpenAPI pieces for drf-spectacular: the API-key security scheme, the error shape and
the error answers of every operation, and integer query filters.

The schema at /api/schema/ is a contract that tests/api/test_schema_contract.py checks
the running API against (schemathesis): keep the two in step.
"""

from django import forms
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ApiKeySecurityScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Send "Api-Key <key>"; keys are created by a superuser.',
        }


class SessionSecurityScheme(SessionScheme):
    """Browser sessions, through DRF's SessionAuthentication or a subclass of it."""

    target_class = "rest_framework.authentication.SessionAuthentication"
    match_subclasses = True
    priority = 0


class ErrorBodySerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Machine-readable reason, e.g. not_found, throttled.")
    message = serializers.CharField(help_text="Human-readable, in the request's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field messages (400 only).",
    )
    retry_after = serializers.IntegerField(required=False, help_text="Seconds (429 and 503).")


class ErrorSerializer(serializers.Serializer):
    """{"error": {"status", "code", "message", ...}}: every non-2xx answer of the API."""

    error = ErrorBodySerializer()


# The error answers an operation can give, with what each means. 414 comes from the web
# server in front of Django (gunicorn refuses a request line over 4 KiB), so it has no
# body in the API's shape; every other one is an ErrorSerializer body.
ERROR_DESCRIPTIONS = {
    400: "The request is not valid: `fields` names each parameter or field and why.",
    401: "No credentials, or an API key that is malformed, unknown, revoked or expired.",
    403: "The API key lacks the scope this operation needs, or the operation is not open "
    "to this kind of caller.",
    404: "No such object, or one outside the caller's jurisdiction (the two look the same).",
    414: "The URL is longer than the web server accepts. Answered by the server itself, "
    "before the API, so the body is not in the API's error shape.",
    429: "Too many requests: `retry_after` (and the Retry-After header) says how many "
    "seconds to wait.",
    503: "The database is away for a moment: `retry_after` (and the Retry-After header) "
    "says when to try again.",
}
LIST_404 = (
    "The `cursor` is not one that this list gave out (cursors come from `next` and `previous`)."
)


class LinliAutoSchema(AutoSchema):
    """Documents the error responses every scoped endpoint can give, in the one error shape.

    They are added to whatever the operation declares, including an explicit
    ``@extend_schema(responses=...)``, which keeps its own description of a code.
    """

    def error_codes(self) -> dict[int, str]:
        """``{status: description}`` of the errors this operation can answer."""
        codes = {401, 403, 414, 429, 503}
        descriptions = dict(ERROR_DESCRIPTIONS)
        if self._is_list_view():
            codes |= {400, 404}  # a filter or page size; a cursor
            descriptions[404] = LIST_404
        elif "{" in self.path:
            codes.add(404)
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            codes.add(400)
        return {code: descriptions[code] for code in sorted(codes)}

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in self.error_codes().items():
            if str(code) in responses:
                continue
            body = None if code == 414 else ErrorSerializer
            responses[str(code)] = self._get_response_for_code(
                OpenApiResponse(body, description=description), str(code), direction=direction
            )
        return dict(sorted(responses.items()))


class IntegerFilterExtension(DjangoFilterExtension):
    """django-filter's NumberFilter is documented as a number; one whose form field is an
    IntegerField (``IdFilter``, the age filters) accepts whole numbers only, so say so,
    with the bounds its declaration gives.
    """

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        field_class = filter_field.field_class
        # forms.DecimalField and FloatField derive from IntegerField: not whole numbers
        if issubclass(field_class, forms.IntegerField) and not issubclass(
            field_class, (forms.DecimalField, forms.FloatField)
        ):
            bounds = {"minimum": "min_value", "maximum": "max_value"}
            for parameter in parameters:
                schema = parameter["schema"]
                schema["type"] = "integer"
                schema.pop("format", None)
                for key, extra in bounds.items():
                    if filter_field.extra.get(extra) is not None:
                        schema[key] = filter_field.extra[extra]
        return parameters
