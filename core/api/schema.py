"""OpenAPI pieces for drf-spectacular: the API-key security scheme and the error shape."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
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


class ErrorBodySerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Machine-readable reason, e.g. not_found, throttled.")
    message = serializers.CharField(help_text="Human-readable, in the request's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field messages (400 only).",
    )
    retry_after = serializers.IntegerField(required=False, help_text="Seconds (429 only).")


class ErrorSerializer(serializers.Serializer):
    """{"error": {"status", "code", "message", ...}}: every non-2xx answer of the API."""

    error = ErrorBodySerializer()


class LinliAutoSchema(AutoSchema):
    """Documents the error responses every scoped endpoint can give."""

    def get_response_serializers(self):
        found = super().get_response_serializers()
        if isinstance(found, dict):  # an explicit @extend_schema(responses={...})
            return found
        success = 201 if self._is_create_operation() else 200
        errors = [401, 403, 429]
        if self._is_list_view(found):
            errors.append(400)
        else:
            errors.append(404)
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            errors.append(400)
        responses = {success: found}
        for code in sorted(set(errors)):
            responses[code] = ErrorSerializer
        return responses
