"""API permissions: API keys need the view's scope; users need to be signed in.

A view names what it needs with ``required_scopes = {"GET": "places:read", ...}``
or ``read_scope`` / ``write_scope``; every scope it names must be registered by its
app (``core.api.scopes.register_api_scope``), or the request fails loudly as a
misconfiguration rather than guessing. What a principal may *see* is decided by
place scoping in the queryset, not here. A view that names no scope is closed
to API keys.
"""

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions

from .authentication import ApiKeyPrincipal
from .scopes import is_api_scope


def required_scope(view, method: str) -> str | None:
    explicit = getattr(view, "required_scopes", None)
    if explicit:
        return explicit.get(method)
    if method in permissions.SAFE_METHODS:
        return getattr(view, "read_scope", None)
    return getattr(view, "write_scope", None)


class HasScope(permissions.BasePermission):
    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 (not authenticated)
        if isinstance(user, ApiKeyPrincipal):
            if request.method not in view.allowed_methods:
                return True  # the view answers 405, whatever the key's scopes
            scope = required_scope(view, request.method)
            if scope is None:
                raise exceptions.PermissionDenied(
                    _("This endpoint is not open to API keys."), code="insufficient_scope"
                )
            if not is_api_scope(scope):
                raise ImproperlyConfigured(
                    f"{type(view).__name__} needs the API scope {scope!r}, which no app "
                    "registered (core.api.scopes.register_api_scope)"
                )
            if not user.has_scope(scope):
                raise exceptions.PermissionDenied(
                    _("This API key lacks the scope “%(scope)s”.") % {"scope": scope},
                    code="insufficient_scope",
                )
            return True
        # Browser sessions: reads are scoped by place; writes are decided by services.
        return True
