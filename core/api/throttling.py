"""Request budgets: per API key, per signed-in user, per address for anonymous calls.

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` and are read at
request time (DRF itself copies them into a class attribute at import), so
``override_settings`` and a settings change both take effect.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings

from .authentication import ApiKeyPrincipal


class SettingsRateMixin:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class ApiKeyRateThrottle(SettingsRateMixin, throttling.SimpleRateThrottle):
    """Per-key budget for district systems."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.user, ApiKeyPrincipal):
            return self.cache_format % {"scope": self.scope, "ident": request.user.api_key.pk}
        return None


class UserRateThrottle(SettingsRateMixin, throttling.UserRateThrottle):
    """Per-user budget for browser sessions."""

    def get_cache_key(self, request, view):
        if isinstance(request.user, ApiKeyPrincipal) or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


class AnonRateThrottle(SettingsRateMixin, throttling.AnonRateThrottle):
    """Per-address budget for anonymous calls (schema, docs)."""
