"""What Linli holds about the signed-in person (个人信息保护法): their record with masked
identifiers, their household, the visitors they declared, who saw their full ID number
(shown in the admin, or in a full-values export), their verification tries. The /me/
pages and the downloads read it from here, in a fixed number of queries."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy

from core.models import AuditEvent, AuditSubject

from .. import events
from ..models import Household, Resident, VerificationAttempt, VisitorDeclaration
from ..services.verification import VERIFICATION_REVOKED
from ..services.visitors import VISITOR_LINK_ROTATED
from .visitors import visitor_declarations_by

RECENT_DECLARATIONS = 10
AUDIT_EVENTS_SHOWN = 500
ATTEMPTS_SHOWN = 50

ACTION_LABELS = {
    events.IDENTITY_REVEALED: gettext_lazy("Your full ID or phone number was shown"),
    events.REGISTRY_EXPORTED: gettext_lazy("Your full ID and phone number were in an export"),
    events.RESIDENT_VERIFIED: gettext_lazy("Account verified"),
    VERIFICATION_REVOKED: gettext_lazy("Verification revoked"),
    events.HOUSEHOLD_CODE_ISSUED: gettext_lazy("Household code issued"),
    events.HOUSEHOLD_CODE_REVOKED: gettext_lazy("Household code revoked"),
    events.HOUSEHOLD_MOVED: gettext_lazy("Household moved"),
    events.RESIDENT_ANONYMISED: gettext_lazy("Record anonymised"),
    VISITOR_LINK_ROTATED: gettext_lazy("Visitor link replaced"),
}
EXPORTED_FIELDS = ("id_number", "phone")  # what a full-values export shows in full
FIELD_LABELS = {"id_number": gettext_lazy("ID number"), "phone": pgettext_lazy("person", "phone")}


# --- the resident's record --------------------------------------------------------------------


def my_resident(user) -> Resident | None:
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

    resident = my_resident(user)
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
    resident_type = ContentType.objects.get_for_model(Resident)
    # events about the record or the household, and those that covered many people at
    # once with this one among them (a full-values export): one query
    among = AuditSubject.objects.filter(target_type=resident_type, target_id=resident.pk)
    about = (
        Q(target_type=resident_type, target_id=resident.pk)
        | Q(target_type=ContentType.objects.get_for_model(Household), target_id=household.pk)
        | Q(pk__in=among.values("event_id"))
    )
    for event in AuditEvent.objects.filter(about).order_by("-created_at", "-id")[
        :AUDIT_EVENTS_SHOWN
    ]:
        fields = event.params.get("fields") if isinstance(event.params, dict) else None
        if event.action == events.REGISTRY_EXPORTED:
            fields = EXPORTED_FIELDS
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
