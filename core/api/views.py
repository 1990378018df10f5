"""Base API views: the queryset is always built from the principal's scope.

Like the admin base, a subclass may not override ``get_queryset``; it supplies
``safely_get_queryset()`` instead (the model's rows with ``select_related`` /
``prefetch_related`` / annotations done) and the base applies the scope to it.
A detail lookup outside the scope is therefore a 404, like a missing row.
"""

from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import mixins, viewsets

from core.scoping import scope_for

from .lists import ValuesListMixin
from .schema import LinliAutoSchema  # also registers the API-key security scheme


class ScopedQuerysetMixin:
    """The guard every scoped viewset shares: ``get_queryset`` is the scope applied
    to ``safely_get_queryset()``, and no subclass may override it.

    ``scope_permission``: the place permission(s) whose scope decides visibility
    (none named: only superusers see anything).
    """

    scope_permission: str | tuple[str, ...] = ()
    schema = LinliAutoSchema()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset; implement safely_get_queryset "
                "so that place scoping cannot be skipped."
            )

    def safely_get_queryset(self):
        raise NotImplementedError(f"{type(self).__name__} must define safely_get_queryset()")

    def get_scope(self):
        return scope_for(self.request.user, self.scope_permission)

    def get_queryset(self):
        return self.get_scope().filter(self.safely_get_queryset())


class ScopedReadOnlyViewSet(ScopedQuerysetMixin, ValuesListMixin, viewsets.ReadOnlyModelViewSet):
    """Read endpoints over place-bound rows; lists take the fast path of
    ``core.api.lists`` when the serializer allows it.

    ``read_scope``: the API-key scope the endpoint needs (none named: keys are refused).
    """

    read_scope: str | None = None


class ScopedWriteViewSet(
    ScopedQuerysetMixin,
    ValuesListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read, create and update (PATCH only) over place-bound rows; no delete.

    ``read_scope`` / ``write_scope``: the API-key scopes for GET and for POST/PATCH.
    Lookups for PATCH go through the same scoped queryset (404 outside the scope);
    subclasses write through the app's services in ``perform_create`` /
    ``perform_update`` and check there that what they create lies in the scope.
    """

    read_scope: str | None = None
    write_scope: str | None = None
    http_method_names = ["get", "post", "patch", "head", "options"]


# --- viewsets deliberately outside the scoped base ---------------------------------------
# The walk test (tests/core/test_scoped_walk.py) accepts a viewset on the router only if
# it derives from ScopedQuerysetMixin or carries one of these marks.

API_MARK = "linli_api"
PUBLIC_API, UNSCOPED_API = "public", "unscoped"


def public_api(viewset):
    """Mark a viewset as open data: it serves nothing that belongs to a place."""
    setattr(viewset, API_MARK, PUBLIC_API)
    return viewset


def unscoped_api(reason: str):
    """Mark a viewset that reads no rows through a queryset and checks its jurisdiction
    in the service it calls (e.g. a POST-only intake). ``reason`` says so for the reviewer.
    """
    if not (reason or "").strip():
        raise ValueError("unscoped_api needs the reason the viewset is safe without a scope")

    def mark(viewset):
        setattr(viewset, API_MARK, UNSCOPED_API)
        viewset.linli_unscoped_reason = reason
        return viewset

    return mark


def api_mark(viewset) -> str | None:
    """How a viewset is guarded: "scoped" (the base), "public", "unscoped", or None."""
    if isinstance(viewset, type) and issubclass(viewset, ScopedQuerysetMixin):
        return "scoped"
    return getattr(viewset, API_MARK, None)


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI at /api/docs/: local files, its init script a separate same-origin file."""

    template_name = "core/api_docs.html"
