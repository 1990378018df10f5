"""API permissions: API keys need the view's scope; users need to be signed in.

A view names what it needs with ``required_scopes = {"GET": "places:read", ...}``
or ``read_scope`` / ``write_scope``. What a principal may *see* is decided by
place scoping in the queryset, not here.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from .authentication import ApiKeyPrincipal


def required_scope(view, method: str) -> str | None:
    explicit = getattr(view, "required_scopes", None)
    if explicit:
        return explicit.get(method)
    if method in permissions.SAFE_METHODS:
        return getattr(view, "read_scope", None)
    return getattr(view, "write_scope", None)


class HasScope(permissions.BasePermission):
    message = _("This API key does not have the scope this endpoint needs.")

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if isinstance(user, ApiKeyPrincipal):
            scope = required_scope(view, request.method)
            if scope is None or not user.has_scope(scope):
                self.message = _("This API key lacks the scope “%(scope)s”.") % {
                    "scope": scope or "?"
                }
                return False
            return True
        # Browser sessions: write endpoints decide with services; reads are scoped.
        return True
