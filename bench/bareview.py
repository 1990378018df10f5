"""The bench's "same work, bare" floor: the dwellings API's page query, without DRF.

``BareMiddleware`` answers one path, :data:`BARE_PATH`, ahead of every other
middleware, as ``core.health.ProbeMiddleware`` answers /healthz: so the request
passes through exactly the middleware the ceiling does, no more. The view runs
the query ``GET /api/v1/dwellings/?page_size=50`` runs for the bench's API key -
the API view's own queryset (``DwellingViewSet.safely_get_queryset``: the same
joins and owner count), filtered by the key's jurisdiction (``scope_for`` of the
key's principal, as the API base does), ordered by id as the API's cursor
pagination orders it, LIMIT 50 - reads it with ``.values()`` and answers it with
``json.dumps``. No DRF, no authentication, no throttle, no serializer.

The key is named by its prefix in the setting ``LINLI_BENCH_BARE_KEY_PREFIX``
(``bench/run.py`` sets it); its jurisdiction is resolved once per process, so each
request pays the page query only (the API pays the key lookup and scope on top).

Only ``config.settings.bench`` installs the middleware: the product never
serves this path (``tests/bench/test_bench_settings.py``).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse

BARE_PATH = "/bench/bare/dwellings"
PAGE = 50
FIELDS = (
    "id",
    "room",
    "floor",
    "floor_area",
    "owner_count",
    "building_id",
    "building__number",
    "estate_id",
    "estate__name",
    "neighbourhood_id",
    "neighbourhood__name",
)

_scope = {}


def key_scope():
    """The jurisdiction of the bench's API key, the way the API resolves it."""
    prefix = settings.LINLI_BENCH_BARE_KEY_PREFIX
    if prefix not in _scope:
        from buildings.api.views import DwellingViewSet
        from core.api.authentication import ApiKeyPrincipal
        from core.models import ApiKey
        from core.scoping import scope_for

        principal = ApiKeyPrincipal(ApiKey.objects.get(prefix=prefix))
        _scope[prefix] = scope_for(principal, DwellingViewSet.scope_permission)
    return _scope[prefix]


def page_queryset():
    from buildings.api.views import DwellingViewSet

    queryset = DwellingViewSet().safely_get_queryset()
    return key_scope().filter(queryset).order_by("id")[:PAGE].values(*FIELDS)


def dwellings_page(request):
    rows = list(page_queryset())
    body = json.dumps({"results": rows}, default=str, ensure_ascii=False)
    return HttpResponse(body, content_type="application/json")


class BareMiddleware:
    """Serve :data:`BARE_PATH` ahead of the rest of the stack (bench settings only)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == BARE_PATH and request.method in ("GET", "HEAD"):
            return dwellings_page(request)
        return self.get_response(request)
