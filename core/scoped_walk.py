"""Find what is not scoped: pages without a mark, admins without the scoped base,
viewsets without the scoped API base.

tests/core/test_scoped_walk.py runs these over the real project (and over deliberately
wrong throwaway ones, to prove they catch them). Each function returns a list of
readable problems; an empty list means everything is guarded. What is deliberately
left out (the admin's own URLs, the API tree, a third-party URL set) is named by the
caller, so that the exceptions are written down where a reviewer reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from core.admin_scoping import (
    REFERENCE_DATA_MARK,
    ScopedModelAdmin,
    ScopedStackedInline,
    ScopedTabularInline,
    SuperuserOnlyMixin,
)
from core.api.scopes import is_api_scope
from core.api.views import api_mark
from core.pages import page_kind


@dataclass(frozen=True)
class Route:
    path: str  # "registry/reports/" (no leading slash, as in the URL conf)
    name: str  # "registry:reports", or "" for an unnamed pattern
    namespaces: tuple[str, ...]
    callback: object


def walk_urls(patterns, prefix: str = "", namespaces: tuple[str, ...] = ()) -> Iterator[Route]:
    """Every URL pattern under ``patterns``, through includes, with its full path and name."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from walk_urls(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespaces, entry.name)) if entry.name else ""
            yield Route(prefix + str(entry.pattern), name, namespaces, entry.callback)


def view_path(callback) -> str:
    """``module.qualname`` of a view (of its class for ``as_view()``)."""
    target = getattr(callback, "view_class", None) or callback
    return f"{target.__module__}.{target.__qualname__}"


def unmarked_views(
    urlconf=None,
    *,
    skip_prefixes: Iterable[str] = (),
    skip_namespaces: Iterable[str] = (),
    allowed: Mapping[str, str] | None = None,
) -> list[str]:
    """URL views that carry no page mark (core.pages).

    ``skip_prefixes`` / ``skip_namespaces``: URL sets left out on purpose (the admin, the
    API). ``allowed``: third-party views accepted by URL name, ``{name: view_path}``;
    a name whose view is not the one expected is reported too.
    """
    skip_prefixes = tuple(skip_prefixes)
    skip_namespaces = set(skip_namespaces)
    allowed = dict(allowed or {})
    problems = []
    for route in walk_urls(get_resolver(urlconf).url_patterns):
        if route.path.startswith(skip_prefixes) or skip_namespaces & set(route.namespaces):
            continue
        if page_kind(route.callback) is not None:
            continue
        path = view_path(route.callback)
        if route.name in allowed:
            if allowed[route.name] == path:
                continue
            problems.append(
                f"/{route.path} ({route.name}): {path} is not the allowed {allowed[route.name]}"
            )
            continue
        problems.append(
            f"/{route.path} ({route.name or 'unnamed'}): {path} carries no page mark "
            "(staff_page, public_page, account_page, resident_page, superuser_page)"
        )
    return problems


def _admin_is_guarded(model, model_admin) -> bool:
    if isinstance(model_admin, (ScopedModelAdmin, SuperuserOnlyMixin)):
        return True
    return bool(getattr(model_admin, REFERENCE_DATA_MARK, False)) and not hasattr(model, "scope_q")


def unscoped_admins(site, *, allowed_models: Iterable[str] = ()) -> list[str]:
    """ModelAdmins of ``site`` on neither the scoped base nor the superuser-only mixin, nor
    marked reference data (core.admin_scoping.reference_data_admin) over a model that
    belongs to no place; and inlines over place-bound models that are not scoped inlines.

    ``allowed_models``: model labels ("auth.Group") of third-party admins accepted as they are.
    """
    allowed_models = set(allowed_models)
    problems = []
    for model, model_admin in site._registry.items():
        label = model._meta.label
        if label in allowed_models:
            continue
        name = type(model_admin).__qualname__
        if not _admin_is_guarded(model, model_admin):
            problems.append(
                f"{label}: {name} is neither a ScopedModelAdmin / ScopedHistoryAdmin nor "
                "SuperuserOnlyMixin, nor reference data over a model outside the places"
            )
        if isinstance(model_admin, SuperuserOnlyMixin):
            continue
        for inline in model_admin.inlines:
            if hasattr(inline.model, "scope_q") and not issubclass(
                inline, (ScopedTabularInline, ScopedStackedInline)
            ):
                problems.append(
                    f"{label}: {name}'s inline {inline.__qualname__} shows place-bound "
                    f"{inline.model._meta.label} rows without a scoped inline base"
                )
    return problems


def _named_scopes(viewset) -> list[str]:
    scopes = [getattr(viewset, "read_scope", None), getattr(viewset, "write_scope", None)]
    scopes += list((getattr(viewset, "required_scopes", None) or {}).values())
    return [scope for scope in scopes if scope is not None]


def unscoped_viewsets(router) -> list[str]:
    """Viewsets on ``router`` that neither derive from the scoped API base nor carry
    ``public_api`` / ``unscoped_api``, and viewsets naming an API scope nobody registered."""
    problems = []
    for prefix, viewset, _basename in router.registry:
        name = viewset.__qualname__
        if api_mark(viewset) is None:
            problems.append(
                f"{prefix}: {name} is not on the scoped API base (ScopedQuerysetMixin) "
                "and not marked public_api / unscoped_api"
            )
        for scope in _named_scopes(viewset):
            if not is_api_scope(scope):
                problems.append(f"{prefix}: {name} needs the unregistered API scope {scope!r}")
    return problems
