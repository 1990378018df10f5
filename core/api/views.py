"""Base API views: the queryset is always built from the user's scope.

Like the admin base, a subclass may not override ``get_queryset``; it supplies
``safely_get_queryset(scope)`` instead (the scope is applied to its result).
"""

from rest_framework import viewsets

from core.scoping import scope_for


class ScopedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    """Read endpoints over place-bound rows.

    ``scope_permission``: the place permission(s) whose scope decides visibility.
    ``read_scope``: the API-key scope the endpoint needs.
    """

    scope_permission: str | tuple[str, ...] = ()
    read_scope: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset; implement safely_get_queryset "
                "so that place scoping cannot be skipped."
            )

    def safely_get_queryset(self):
        raise NotImplementedError

    def get_scope(self):
        return scope_for(self.request.user, self.scope_permission)

    def get_queryset(self):
        return self.get_scope().filter(self.safely_get_queryset())
