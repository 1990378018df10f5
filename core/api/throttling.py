from rest_framework import throttling

from .authentication import ApiKeyPrincipal


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    """Per-key budget for district systems."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.user, ApiKeyPrincipal):
            return self.cache_format % {"scope": self.scope, "ident": request.user.api_key.pk}
        return None


class UserRateThrottle(throttling.UserRateThrottle):
    def get_cache_key(self, request, view):
        if isinstance(request.user, ApiKeyPrincipal) or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


class AnonRateThrottle(throttling.AnonRateThrottle):
    pass
