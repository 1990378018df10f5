"""A resident's own pages and data (个人信息保护法, the Personal Information Protection Law).

* ``/me/`` (namespace "me"): verification status, the household's visitor
  link, the visitors the resident declared.
* ``/me/data/``: what Linli holds about the signed-in person and their
  household - their record with masked identifiers, the members' names and
  relations (never the members' identifiers), the visitors they declared, the
  audit events about them (who saw their full ID number and when), their
  verification tries - and the same as a JSON or XLSX download.

Every page here costs a fixed number of queries.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.pages import resident_page
from core.tables.xlsx import XlsxBook

from ..selectors.me import RECENT_DECLARATIONS, collect_my_data, my_resident
from ..selectors.visitors import visitor_declarations_by
from ..services.visitors import visitor_link_expires_on, visitor_link_token

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --- pages -------------------------------------------------------------------------------------


@never_cache
@resident_page
@require_GET
def me_home(request):
    user = request.user
    resident = my_resident(user)
    household = resident.household if resident is not None else None
    visitor_link = visitor_link_expires = None
    if household is not None and household.moved_out is None:
        # a link given out today: it works for LINLI_VISITOR_LINK_DAYS; coming back renews it
        token = visitor_link_token(household)
        visitor_link = request.build_absolute_uri(reverse("visit", kwargs={"token": token}))
        visitor_link_expires = visitor_link_expires_on(token)
    declarations = list(visitor_declarations_by(user=user)[:RECENT_DECLARATIONS])
    return render(
        request,
        "residents/me.html",
        {
            "resident": resident,
            "household": household,
            "visitor_link": visitor_link,
            "visitor_link_expires": visitor_link_expires,
            "declarations": declarations,
        },
    )


@never_cache
@resident_page
@require_GET
def me_data(request):
    return render(request, "residents/me_data.html", {"data": collect_my_data(request.user)})


def _download_name(ext: str) -> str:
    return f"linli-my-data-{timezone.localdate():%Y%m%d}.{ext}"


@never_cache
@resident_page
@require_GET
def me_data_json(request):
    body = json.dumps(collect_my_data(request.user), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, _download_name("json"))
    return response


def _sheet(book: XlsxBook, title: str, rows) -> None:
    """One sheet of the download; every value a safe cell (``core.tables.xlsx``)."""
    sheet = book.sheet(title)
    for row in rows:
        sheet.append([", ".join(map(str, v)) if isinstance(v, list) else v for v in row])


def _record_rows(section: dict | None):
    return [(key, value) for key, value in (section or {}).items() if key != "members"]


def _table_rows(items: list[dict]):
    if not items:
        return []
    return [list(items[0].keys()), *[list(item.values()) for item in items]]


@never_cache
@resident_page
@require_GET
def me_data_xlsx(request):
    data = collect_my_data(request.user)
    book = XlsxBook()
    _sheet(book, "account", _record_rows(data["account"]))
    _sheet(book, "resident", _record_rows(data["resident"]))
    _sheet(book, "household", _record_rows(data["household"]))
    _sheet(book, "members", _table_rows((data["household"] or {}).get("members", [])))
    _sheet(book, "visitor_declarations", _table_rows(data["visitor_declarations"]))
    _sheet(book, "audit_events", _table_rows(data["audit_events"]))
    _sheet(book, "verification_attempts", _table_rows(data["verification_attempts"]))
    response = HttpResponse(book.to_bytes(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, _download_name("xlsx"))
    return response
