"""外来人员信息申报: visitors staying in a household, declared by them or by a resident.

* Each current household has a visitor link, ``/visit/<token>/``: a signed value
  (``django.core.signing``, salt :data:`LINK_SALT`) naming the household and the
  link's generation. The household's verified residents see it on ``/me/`` and
  can replace it (:func:`visitor_link_rotate`), which makes every earlier link
  invalid. The generation is the id of the household's latest
  ``visitor_link_rotated`` audit event (0 before any), so rotating needs no
  column of its own and is audited by the same row.
* :func:`visitor_declare` validates and stores a declaration: the document
  number like residents' (``normalise_identifier``), encrypted, with its last 4
  characters for masked display; the phone the same way.
* Cadres list declarations in scope (:func:`visitor_declarations_visible_to`)
  and confirm or reject them (:func:`visitor_declaration_review`, audited).
* :func:`visitor_declarations_purge` (daily, Celery) blanks the personal fields
  ``LINLI_VISITOR_PURGE_DAYS`` (30) days after the stay ended; idempotent.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from buildings.models import add_years
from buildings.permissions import MANAGE
from core.audit import record
from core.crypto import cipher
from core.models import AuditEvent
from core.scoping import scope_for

from ..models import Household, IdType, VisitorDeclaration
from .registry import normalise_identifier, normalise_phone

LINK_SALT = "residents.visitor-link"
DEFAULT_PURGE_DAYS = 30
# What a purged declaration keeps as its name (pages show a translated label instead).
PURGED_NAME = "-"

VISITOR_LINK_ROTATED = "visitor_link_rotated"
VISITOR_DECLARATION_REVIEWED = "visitor_declaration_reviewed"

# When a stay is, for the cadre's list filter.
CURRENT, UPCOMING, PAST, ANY = "current", "upcoming", "past", "all"


def purge_days() -> int:
    return int(getattr(settings, "LINLI_VISITOR_PURGE_DAYS", DEFAULT_PURGE_DAYS))


# --- the household's link -----------------------------------------------------------------


def _link_generation(household_id: int) -> int:
    return (
        AuditEvent.objects.filter(
            action=VISITOR_LINK_ROTATED,
            target_type=ContentType.objects.get_for_model(Household),
            target_id=household_id,
        )
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )


def visitor_link_token(household: Household) -> str:
    """The token of the household's current visitor link."""
    value = {"h": household.pk, "g": _link_generation(household.pk)}
    return signing.Signer(salt=LINK_SALT).sign_object(value)


def household_for_visitor_token(token: str) -> Household | None:
    """The current household a valid, current token names, else None."""
    try:
        value = signing.Signer(salt=LINK_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(value, dict):
        return None
    household_id, generation = value.get("h"), value.get("g")
    if not isinstance(household_id, int) or not isinstance(generation, int):
        return None
    if generation != _link_generation(household_id):
        return None
    return (
        Household.objects.select_related("dwelling__building__estate")
        .filter(pk=household_id, moved_out__isnull=True)
        .first()
    )


def visitor_link_rotate(*, household: Household, by) -> str:
    """Replace the household's visitor link; earlier links stop working. Audited."""
    record(actor=by, action=VISITOR_LINK_ROTATED, target=household)
    return visitor_link_token(household)


# --- declaring ---------------------------------------------------------------------------


def _validate(
    *, name, id_type, id_number, phone, arrives_on, leaves_on, reason, today
) -> tuple[str, str, str, str]:
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    name = (name or "").strip()
    if not name:
        add("name", _("Enter the visitor's name."))
    elif len(name) > 50:
        add("name", _("A name has at most 50 characters."))
    number = ""
    try:
        number, _info = normalise_identifier(id_type, id_number)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                add(field, message)
    else:
        if not number:
            add("id_number", _("Enter the visitor's ID or passport number."))
    try:
        phone = normalise_phone(phone)
    except ValidationError as exc:
        for message in exc.message_dict.get("phone", exc.messages):
            add("phone", message)
    else:
        if not phone:
            add("phone", _("Enter a phone number where the visitor can be reached."))
    if arrives_on and leaves_on:
        if leaves_on < arrives_on:
            add("leaves_on", _("The stay cannot end before it begins."))
        elif leaves_on > add_years(arrives_on, 1):
            add("leaves_on", _("Declare at most one year at a time."))
        elif leaves_on < today:
            add("leaves_on", _("This stay has already ended; there is nothing to declare."))
    reason = (reason or "").strip()
    if not reason:
        add("reason", _("Say briefly why the visitor is staying."))
    elif len(reason) > 200:
        add("reason", _("Keep the reason under 200 characters."))
    if errors:
        raise ValidationError(errors)
    return name, number, phone, reason


@transaction.atomic
def visitor_declare(
    *,
    household: Household,
    name: str,
    id_type: str = IdType.RESIDENT_ID,
    id_number: str,
    phone: str,
    arrives_on: datetime.date,
    leaves_on: datetime.date,
    reason: str,
    by=None,
    today: datetime.date | None = None,
) -> VisitorDeclaration:
    """Store a declaration for ``household`` (by a visitor through its link, or a resident).

    Raises ValidationError keyed by field (``name``, ``id_type``, ``id_number``,
    ``phone``, ``leaves_on``, ``reason``), all problems at once.
    """
    if household.moved_out is not None:
        raise ValidationError(_("This household has moved out."))
    today = today or timezone.localdate()
    name, number, phone, reason = _validate(
        name=name,
        id_type=id_type,
        id_number=id_number,
        phone=phone,
        arrives_on=arrives_on,
        leaves_on=leaves_on,
        reason=reason,
        today=today,
    )
    box = cipher()
    declaration = VisitorDeclaration(
        household=household,
        dwelling_id=household.dwelling_id,
        name=name,
        id_type=id_type,
        id_encrypted=box.encrypt(number),
        id_last4=number[-4:],
        phone_encrypted=box.encrypt(phone),
        phone_last4=phone[-4:],
        arrives_on=arrives_on,
        leaves_on=leaves_on,
        reason=reason,
        declared_by=by if getattr(by, "pk", None) else None,
    )
    declaration.save()
    return declaration


# --- the cadre's list ---------------------------------------------------------------------


def visitor_declarations_visible_to(
    *,
    user,
    status: str | None = None,
    when: str = ANY,
    estate_id: int | None = None,
    today: datetime.date | None = None,
):
    """Declarations in the user's scope, newest first, with what the list shows joined."""
    today = today or timezone.localdate()
    queryset = scope_for(user, MANAGE).filter(
        VisitorDeclaration.objects.select_related(
            "dwelling", "building", "estate", "declared_by", "reviewed_by"
        )
    )
    if status in VisitorDeclaration.Status.values:
        queryset = queryset.filter(status=status)
    if when == CURRENT:
        queryset = queryset.filter(arrives_on__lte=today, leaves_on__gte=today)
    elif when == UPCOMING:
        queryset = queryset.filter(arrives_on__gt=today)
    elif when == PAST:
        queryset = queryset.filter(leaves_on__lt=today)
    if estate_id:
        queryset = queryset.filter(estate_id=estate_id)
    return queryset.order_by("-created_at", "-id")


def access_visitor_declaration(*, user, pk) -> VisitorDeclaration:
    """The declaration if in the user's scope; 404 for missing and forbidden alike."""
    return get_object_or_404(visitor_declarations_visible_to(user=user), pk=pk)


def visitor_declarations_by(*, user):
    """What a resident declared themselves, newest first (the household's dwelling joined)."""
    return (
        VisitorDeclaration.objects.filter(declared_by=user)
        .select_related("dwelling", "building", "estate")
        .order_by("-created_at", "-id")
    )


@transaction.atomic
def visitor_declaration_review(
    *, declaration: VisitorDeclaration, by, status: str, ip: str | None = None
) -> VisitorDeclaration:
    """Confirm or reject a declaration (a mistaken decision can be changed). Audited."""
    allowed = {VisitorDeclaration.Status.CONFIRMED, VisitorDeclaration.Status.REJECTED}
    if status not in allowed:
        raise ValidationError(_("A declaration is confirmed or rejected."))
    declaration = VisitorDeclaration.objects.select_for_update().get(pk=declaration.pk)
    if declaration.purged_at is not None:
        raise ValidationError(_("This declaration's personal data has been removed."))
    if declaration.status == status:
        return declaration
    previous = declaration.status
    declaration.status = status
    declaration.reviewed_by = by
    declaration.reviewed_at = timezone.now()
    declaration.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
    # No target object: its label would keep the visitor's name after the purge.
    record(
        actor=by,
        action=VISITOR_DECLARATION_REVIEWED,
        neighbourhood_id=declaration.neighbourhood_id,
        ip=ip,
        declaration=declaration.pk,
        status=status,
        previous=previous,
    )
    return declaration


# --- purging ---------------------------------------------------------------------------------


def visitor_declarations_purge(
    *, today: datetime.date | None = None, now: datetime.datetime | None = None
) -> int:
    """Blank the personal fields of stays that ended ``purge_days()`` ago or more.

    Kept for statistics: the dwelling (and its place ids), the document type,
    the dates and the status. One UPDATE; a re-run changes nothing.
    Returns how many declarations were purged.
    """
    now = now or timezone.now()
    today = today or timezone.localdate()
    cutoff = today - datetime.timedelta(days=purge_days())
    return VisitorDeclaration.objects.filter(purged_at__isnull=True, leaves_on__lte=cutoff).update(
        name=PURGED_NAME,
        id_encrypted="",
        id_last4="",
        phone_encrypted="",
        phone_last4="",
        reason="",
        purged_at=now,
        updated_at=now,
    )
