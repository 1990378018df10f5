"""Request budgets: per API key, per signed-in user, per address for anonymous calls.

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` and are read at
request time (DRF itself copies them into a class attribute at import), so
``override_settings`` and a settings change both take effect.

The counters live in the default cache. When it is away the throttles fail open: the
request goes through, a warning is logged at most once a minute (not per request), and
the cache is left alone for a few seconds before it is asked again
(``core.redis.CacheGuard``), so the API keeps answering and recovers by itself.
"""

from django.core.cache import DEFAULT_CACHE_ALIAS
from rest_framework import throttling
from rest_framework.settings import api_settings

from core.redis import guard_for

from .authentication import ApiKeyPrincipal


class SettingsRateMixin:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        # DRF's throttles read and write ``self.cache``, the default cache
        return guard_for(DEFAULT_CACHE_ALIAS).call(
            "API throttles", super().allow_request, request, view, default=True
        )


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
