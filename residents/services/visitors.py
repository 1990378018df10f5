"""外来人员信息申报: visitors staying in a household, declared by them or by a resident.

* Each current household has a visitor link, ``/visit/<token>/``: a signed value
  (``django.core.signing``, salt :data:`LINK_SALT`) naming the household and the
  link's generation. The household's verified residents see it on ``/me/`` and
  can replace it (:func:`visitor_link_rotate`), which makes every earlier link
  invalid. The generation is ``Household.visitor_link_generation`` (0 before
  any replacement); the ``visitor_link_rotated`` audit event only records who
  replaced it and when, and is never read back.
* :func:`visitor_declare` validates and stores a declaration: the document
  number like residents' (``normalise_identifier``), encrypted, with its last 4
  characters for masked display; the phone the same way.
* Cadres confirm or reject declarations (:func:`visitor_declaration_review`,
  audited); the lists are read in ``residents.selectors.visitors``.
* :func:`visitor_declarations_purge` (daily, Celery) blanks the personal fields
  ``LINLI_VISITOR_PURGE_DAYS`` (30) days after the stay ended; idempotent.
"""

from __future__ import annotations

import datetime

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from buildings.models import add_years
from core.crypto import cipher

from .. import events
from ..models import Household, IdType, VisitorDeclaration
from ..selectors.visitors import purge_days
from .registry import normalise_identifier, normalise_phone

LINK_SALT = "residents.visitor-link"
# What a purged declaration keeps as its name (pages show a translated label instead).
PURGED_NAME = "-"

VISITOR_LINK_ROTATED = events.VISITOR_LINK_ROTATED
VISITOR_DECLARATION_REVIEWED = events.VISITOR_DECLARATION_REVIEWED


# --- the household's link -----------------------------------------------------------------


def visitor_link_token(household: Household) -> str:
    """The token of the household's current visitor link (no query)."""
    value = {"h": household.pk, "g": household.visitor_link_generation}
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
    return (
        Household.objects.select_related("dwelling__building__estate")
        .filter(pk=household_id, moved_out__isnull=True, visitor_link_generation=generation)
        .first()
    )


@transaction.atomic
def visitor_link_rotate(*, household: Household, by) -> str:
    """Replace the household's visitor link; earlier links stop working. Audited."""
    Household.objects.filter(pk=household.pk).update(
        visitor_link_generation=F("visitor_link_generation") + 1
    )
    household.visitor_link_generation = Household.objects.values_list(
        "visitor_link_generation", flat=True
    ).get(pk=household.pk)
    events.visitor_link_rotated(
        actor=by, household=household, generation=household.visitor_link_generation
    )
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


# --- the cadre's review ----------------------------------------------------------------------


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
    events.visitor_declaration_reviewed(
        actor=by, declaration=declaration, status=status, previous=previous, ip=ip
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
