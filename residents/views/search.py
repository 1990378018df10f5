"""``/registry/search/`` (POST): the registry's search boxes send what was typed here.

A whole ID number must not reach a URL (access logs, browser history, Referer). The
admin's resident and household lists and the export page post their search form here;
the view swaps a whole ID number for its search token (``residents.search``) and
redirects to the list with the form's other fields and ``q=<token>``. ``next`` names
the list: only those three are accepted, anything else goes to the export page.
"""

from __future__ import annotations

from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_POST

from buildings.permissions import MANAGE
from core.pages import staff_page

from ..search import search_token

SEARCH_TARGETS = {
    "admin:residents_resident_changelist",
    "admin:residents_household_changelist",
    "registry:export",
}
_NOT_FORWARDED = ("csrfmiddlewaretoken", "next", "p", "page")


def _target(path: str) -> str:
    path = (path or "").split("?", 1)[0]
    if path.startswith("/") and not path.startswith("//"):
        try:
            if resolve(path).view_name in SEARCH_TARGETS:
                return path
        except Resolver404:
            pass
    return reverse("registry:export")


@staff_page(MANAGE)
@require_POST
def search(request):
    target = _target(request.POST.get("next", ""))
    query = QueryDict(mutable=True)
    for name, values in request.POST.lists():
        if name in _NOT_FORWARDED:
            continue
        query.setlist(name, [search_token(v.strip()) if name == "q" else v for v in values])
    if not any(query.getlist("q")):
        query.pop("q", None)
    return redirect(f"{target}?{query.urlencode()}" if query else target)
