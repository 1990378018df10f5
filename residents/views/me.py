"""A resident's own pages and data (个人信息保护法, the Personal Information Protection Law).

* ``/me/`` (namespace "me"): verification status, the household's visitor
  link, the visitors the resident declared.
* ``/me/data/``: what Linli holds about the signed-in person and their
  household - their record with masked identifiers, the members' names and
  relations (never the members' identifiers), the visitors they declared, the
  audit events about them (who saw their full ID number and when), their
  verification tries - and the same as a JSON or XLSX download.
* ``/registry/residents/<id>/anonymise/`` (namespace "registry"): a cadre removes a
  resident who asked to be removed, after a confirmation step; scoped (404
  outside); ``residents.services.resident_anonymise`` keeps the statistics and
  records the audit event.

Every page here costs a fixed number of queries.
"""

from __future__ import annotations

import io
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from openpyxl import Workbook

from core.audit import client_ip
from core.models import AuditEvent

from .. import events
from ..forms.people import AnonymiseForm
from ..models import Household, Resident, VerificationAttempt, VisitorDeclaration
from ..selectors import access_resident
from ..services import resident_anonymise
from ..services.verification import VERIFICATION_REVOKED
from ..services.visitors import (
    VISITOR_LINK_ROTATED,
    visitor_declarations_by,
    visitor_link_token,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT_DECLARATIONS = 10
AUDIT_EVENTS_SHOWN = 500
ATTEMPTS_SHOWN = 50

ACTION_LABELS = {
    events.IDENTITY_REVEALED: gettext_lazy("Your full ID or phone number was shown"),
    events.RESIDENT_VERIFIED: gettext_lazy("Account verified"),
    VERIFICATION_REVOKED: gettext_lazy("Verification revoked"),
    events.HOUSEHOLD_CODE_ISSUED: gettext_lazy("Household code issued"),
    events.HOUSEHOLD_CODE_REVOKED: gettext_lazy("Household code revoked"),
    events.HOUSEHOLD_MOVED: gettext_lazy("Household moved"),
    events.RESIDENT_ANONYMISED: gettext_lazy("Record anonymised"),
    VISITOR_LINK_ROTATED: gettext_lazy("Visitor link replaced"),
}
FIELD_LABELS = {"id_number": gettext_lazy("ID number"), "phone": gettext_lazy("phone")}


# --- the resident's record --------------------------------------------------------------------


def _my_resident(user) -> Resident | None:
    """The signed-in user's current registry record, with places joined (one query)."""
    if not user.verified:
        return None
    return (
        Resident.objects.filter(user=user, anonymised_at__isnull=True)
        .select_related("household__head", "dwelling", "building", "estate", "neighbourhood")
        .prefetch_related("care_tags")
        .first()
    )


def _address(obj) -> str:
    """Estate, building and room of a resident, household or declaration (joined)."""
    return f"{obj.estate.name} {obj.building.number} {obj.dwelling.room}"


def _date(value) -> str:
    return value.isoformat() if value else ""


def _datetime(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def _masked_last4(last4: str, head: str = "") -> str:
    return f"{head or '***'}{'*' * 11}{last4}" if last4 else ""


def collect_my_data(user) -> dict:
    """Everything shown on /me/data/, JSON-ready (strings, numbers, lists, dicts)."""
    data = {
        "generated_at": _datetime(timezone.now()),
        "account": {
            "mobile_number": user.phone,
            "display_name": user.name,
            "email": user.email,
            "language": user.get_language_display(),
            "date_joined": _datetime(user.date_joined),
            "verified": bool(user.verified),
        },
        "resident": None,
        "household": None,
        "visitor_declarations": [],
        "audit_events": [],
        "verification_attempts": [
            {"when": _datetime(a.created_at), "succeeded": a.succeeded}
            for a in VerificationAttempt.objects.filter(user=user).order_by("-created_at")[
                :ATTEMPTS_SHOWN
            ]
        ],
    }
    for declaration in visitor_declarations_by(user=user):
        data["visitor_declarations"].append(_declaration_data(declaration))

    resident = _my_resident(user)
    if resident is None:
        return data
    household = resident.household
    data["resident"] = {
        "name": resident.name,
        "gender": resident.get_gender_display(),
        "date_of_birth": _date(resident.birth_date),
        "identity_document": resident.get_id_type_display(),
        "id_number": resident.masked_id,
        "phone": resident.masked_phone,
        "relation_to_head": resident.get_relation_display(),
        "residence_status": resident.get_residence_status_display(),
        "nationality": resident.nationality,
        "care_tags": [tag.name for tag in resident.care_tags.all()],
        "lives_alone": resident.lives_alone,
        "moved_in": _date(resident.moved_in),
        "moved_out": _date(resident.moved_out),
        "neighbourhood": resident.neighbourhood.name,
        "address": _address(resident),
        "notes_kept_by_the_committee": resident.notes,
    }
    members = (
        household.members.filter(anonymised_at__isnull=True)
        .order_by("moved_out", "pk")
        .only("pk", "name", "relation", "moved_out", "household_id")
    )
    data["household"] = {
        "address": _address(resident),
        "tenure": household.get_tenure_display(),
        "moved_in": _date(household.moved_in),
        "head": household.head.name if household.head_id and household.head else "",
        "members": [
            {
                "name": m.name,
                "relation_to_head": m.get_relation_display(),
                "moved_out": _date(m.moved_out),
                "is_you": m.pk == resident.pk,
            }
            for m in members
        ],
    }
    about = Q(target_type=ContentType.objects.get_for_model(Resident), target_id=resident.pk) | Q(
        target_type=ContentType.objects.get_for_model(Household), target_id=household.pk
    )
    for event in AuditEvent.objects.filter(about).order_by("-created_at", "-id")[
        :AUDIT_EVENTS_SHOWN
    ]:
        fields = event.params.get("fields") if isinstance(event.params, dict) else None
        data["audit_events"].append(
            {
                "when": _datetime(event.created_at),
                "what": str(ACTION_LABELS.get(event.action, event.action)),
                "by": event.actor_label,
                "fields": [str(FIELD_LABELS.get(f, f)) for f in fields or []],
            }
        )
    return data


def _declaration_data(declaration: VisitorDeclaration) -> dict:
    purged = declaration.purged_at is not None
    return {
        "name": "" if purged else declaration.name,
        "identity_document": declaration.get_id_type_display(),
        "id_number": _masked_last4(declaration.id_last4),
        "phone": f"*******{declaration.phone_last4}" if declaration.phone_last4 else "",
        "address": _address(declaration),
        "from": _date(declaration.arrives_on),
        "to": _date(declaration.leaves_on),
        "reason": declaration.reason,
        "status": declaration.get_status_display(),
        "declared_at": _datetime(declaration.created_at),
        "personal_data_removed_at": _datetime(declaration.purged_at),
    }


# --- pages -------------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def me_home(request):
    user = request.user
    resident = _my_resident(user)
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


# --- the cadre's anonymise action ---------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def resident_anonymise_view(request, pk):
    resident = access_resident(user=request.user, pk=pk)
    form = AnonymiseForm(request.POST if request.method == "POST" else None)
    if resident.anonymised_at is None and request.method == "POST" and form.is_valid():
        resident_anonymise(resident=resident, by=request.user, ip=client_ip(request))
        messages.success(
            request,
            _("The resident's personal data is removed; the statistics are kept."),
        )
        return redirect("registry:resident_anonymise", pk=resident.pk)
    return render(
        request,
        "residents/me_data_anonymise.html",
        {"resident": resident, "form": form},
        status=400 if form.errors else 200,
    )
