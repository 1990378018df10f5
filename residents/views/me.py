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

import io
import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from ..selectors.me import RECENT_DECLARATIONS, collect_my_data, my_resident
from ..services.visitors import (
    visitor_declarations_by,
    visitor_link_token,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --- pages -------------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def me_home(request):
    user = request.user
    resident = my_resident(user)
    household = resident.household if resident is not None else None
    visitor_link = None
    if household is not None and household.moved_out is None:
        visitor_link = request.build_absolute_uri(
            reverse("visit", kwargs={"token": visitor_link_token(household)})
        )
    declarations = list(visitor_declarations_by(user=user)[:RECENT_DECLARATIONS])
    return render(
        request,
        "residents/me.html",
        {
            "resident": resident,
            "household": household,
            "visitor_link": visitor_link,
            "declarations": declarations,
        },
    )


@never_cache
@login_required
@require_GET
def me_data(request):
    return render(request, "residents/me_data.html", {"data": collect_my_data(request.user)})


def _download_name(ext: str) -> str:
    return f"linli-my-data-{timezone.localdate():%Y%m%d}.{ext}"


@never_cache
@login_required
@require_GET
def me_data_json(request):
    body = json.dumps(collect_my_data(request.user), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, _download_name("json"))
    return response


def _sheet(workbook, title, rows):
    sheet = workbook.create_sheet(title=title[:31])
    for row in rows:
        sheet.append([", ".join(map(str, v)) if isinstance(v, list) else v for v in row])


def _record_rows(section: dict | None):
    return [(key, value) for key, value in (section or {}).items() if key != "members"]


def _table_rows(items: list[dict]):
    if not items:
        return []
    return [list(items[0].keys()), *[list(item.values()) for item in items]]


@never_cache
@login_required
@require_GET
def me_data_xlsx(request):
    data = collect_my_data(request.user)
    workbook = Workbook(write_only=True)
    _sheet(workbook, "account", _record_rows(data["account"]))
    _sheet(workbook, "resident", _record_rows(data["resident"]))
    _sheet(workbook, "household", _record_rows(data["household"]))
    _sheet(workbook, "members", _table_rows((data["household"] or {}).get("members", [])))
    _sheet(workbook, "visitor_declarations", _table_rows(data["visitor_declarations"]))
    _sheet(workbook, "audit_events", _table_rows(data["audit_events"]))
    _sheet(workbook, "verification_attempts", _table_rows(data["verification_attempts"]))
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, _download_name("xlsx"))
    return response
