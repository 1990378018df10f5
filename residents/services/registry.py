"""The registry's writes: households and residents.

Views, admin, the importer, the API and commands all call these; none of them
sets identifiers or place ids by hand. Callers authorise first (selectors'
``access_*`` give a 404 outside the user's scope); these functions enforce the
data rules: valid, de-duplicated identifiers and a consistent household.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import user_set_verified
from accounts.validators import normalise_mobile
from buildings.models import Dwelling
from buildings.placebound import PLACE_FIELDS
from core.text import clean_text

from .. import events
from ..idnumbers import parse_id_number
from ..models import CareTag, Household, IdType, Relation, Resident
from ..models.registry import HEAD_CONSTRAINT, identifier_hash
from ..permissions import require_full_identity
from ..rules import (
    FORMER_HEAD_NEEDS_RELATION,
    HEAD_DEMOTED,
    HEAD_ELSEWHERE,
    RESIDENT_FIELDS,
    SEVERAL_HEADS,
    Member,
    settle_head,
)

_DOC_RE = re.compile(r"^[A-Z0-9]{5,20}$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}\d{7,8}$")

# Fields a caller may change with resident_update (identifiers have their own arguments).
UPDATABLE = frozenset(RESIDENT_FIELDS)


def normalise_identifier(id_type: str, value: str) -> tuple[str, object | None]:
    """(normalised number, decoded info for ID cards) or ValidationError on ``id_number``."""
    number = (value or "").strip().replace(" ", "").upper()
    if not number:
        return "", None
    if id_type == IdType.RESIDENT_ID:
        try:
            info = parse_id_number(number)
        except ValidationError as exc:
            raise ValidationError({"id_number": exc.messages}) from None
        return info.number, info
    if id_type not in IdType.values:
        raise ValidationError({"id_type": _("Unknown identity document type.")})
    if not _DOC_RE.match(number):
        raise ValidationError({"id_number": _("A document number has 5 to 20 letters and digits.")})
    return number, None


def normalise_phone(value: str) -> str:
    """A mainland mobile (11 digits) or a landline with its area code, digits only."""
    phone = normalise_mobile(value or "")
    if not phone:
        return ""
    if _MOBILE_RE.match(phone) or _LANDLINE_RE.match(phone):
        return phone
    raise ValidationError(
        {"phone": _("Enter an 11-digit mobile number or a landline with its area code.")}
    )


def identifier_unusable_message() -> str:
    """The one answer for a document number that is taken, wherever its holder lives.

    The same words whether the person is in the caller's places or elsewhere, so that
    no answer (API, admin, pages, the importer's dry run) tells whether a number is
    registered outside the caller's scope, or where.
    """
    return _(
        "This document number cannot be used here. Check the number; if it is right, "
        "search the registry for the person."
    )


def _duplicate_identifier() -> ValidationError:
    return ValidationError({"id_number": identifier_unusable_message()}, code="duplicate")


def _check_unique_identifier(id_type: str, number: str, exclude_pk=None) -> None:
    if not number:
        return
    clash = Resident.objects.filter(id_hash=identifier_hash(id_type, number))
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise _duplicate_identifier()


def _apply_identity(resident: Resident, id_type: str, id_number: str) -> None:
    number, info = normalise_identifier(id_type, id_number)
    _check_unique_identifier(id_type, number, exclude_pk=resident.pk)
    resident.set_identifier(id_type, number)
    if info is not None:  # the ID number states gender and birth date
        resident.gender = info.gender
        resident.birth_date = info.birth_date


def validate_resident_name(name: str) -> str:
    """A person's name, normalised (``core.text.clean_text``), or ValidationError on ``name``."""
    name = clean_text(name, field="name")
    if not name:
        raise ValidationError({"name": _("Enter the resident's name.")})
    if len(name) > 50:
        raise ValidationError({"name": _("A name has at most 50 characters.")})
    return name


def _save(resident: Resident) -> Resident:
    try:
        with transaction.atomic():
            resident.full_clean(exclude=["household", "dwelling", *PLACE_FIELDS, "user"])
            resident.save()
    except IntegrityError as exc:  # a concurrent insert of the same identifier, or head
        if HEAD_CONSTRAINT in str(exc):
            raise ValidationError({"relation": _HEAD_MESSAGES[SEVERAL_HEADS]()}) from None
        raise _duplicate_identifier() from None
    return resident


# --- households ------------------------------------------------------------------------


@transaction.atomic
def household_create(
    *,
    dwelling: Dwelling,
    tenure: str = "owner",
    moved_in: datetime.date | None = None,
    notes: str = "",
    by=None,
) -> Household:
    household = Household(
        dwelling=dwelling,
        tenure=tenure,
        moved_in=moved_in,
        notes=clean_text(notes, field="notes", multiline=True),
    )
    household.full_clean(exclude=["head", *PLACE_FIELDS])
    household.save()
    return household


HOUSEHOLD_UPDATABLE = {"tenure", "moved_in", "notes"}


@transaction.atomic
def household_update(*, household: Household, by=None, **changes) -> Household:
    """Change a household's tenure, moved-in date or notes (moves: household_move)."""
    unknown = set(changes) - HOUSEHOLD_UPDATABLE
    if unknown:
        raise TypeError(f"household_update cannot change {sorted(unknown)}")
    if "notes" in changes:
        changes["notes"] = clean_text(changes["notes"], field="notes", multiline=True)
    for field, value in changes.items():
        setattr(household, field, value)
    household.full_clean(exclude=["head", "dwelling", *PLACE_FIELDS])
    household.save()
    return household


def _headship(*, household: Household, members: list[Member], field: str = "relation"):
    """``settle_head`` for a service: its problems are a ValidationError on ``field``."""
    decision = settle_head(head=household.head_id, members=members)
    if decision.problems:
        _key, problem = decision.problems[0]
        raise ValidationError({field: _HEAD_MESSAGES[problem]()})
    return decision


_HEAD_MESSAGES = {
    SEVERAL_HEADS: lambda: _("A household has one head (户主)."),
    HEAD_DEMOTED: lambda: _(
        "This person is the head of the household (户主). To change that, make another "
        "member head of the household."
    ),
    HEAD_ELSEWHERE: lambda: _(
        "This household already has a head (户主): make this person head of the household "
        "instead, or give them another relation."
    ),
    FORMER_HEAD_NEEDS_RELATION: lambda: _("Give the current head of household a new relation."),
}


@transaction.atomic
def household_set_head(
    *, household: Household, resident: Resident, former_head_relation: str = Relation.OTHER
) -> Household:
    """Make ``resident`` the head (户主); the former head takes ``former_head_relation``."""
    if resident.household_id != household.pk:
        raise ValidationError({"head": _("The head of household must be one of its members.")})
    members = [Member(key=resident.pk, relation=Relation.HEAD, stored=resident.relation)]
    former = household.head if household.head_id not in (None, resident.pk) else None
    if former is not None:
        members.append(Member(key=former.pk, relation=former_head_relation, stored=former.relation))
    decision = _headship(household=household, members=members, field="head")
    household.head = resident
    household.save(update_fields=["head", "updated_at"])
    # The former head first: a household never holds two heads, not even for a moment
    # (the database refuses it: HEAD_CONSTRAINT).
    for member in (former, resident):
        if member is not None and member.relation != decision.relations[member.pk]:
            member.relation = decision.relations[member.pk]
            member.save()
    return household


@transaction.atomic
def household_move(
    *, household: Household, dwelling: Dwelling, moved_on: datetime.date, by=None
) -> Household:
    """Move a household to another dwelling, keeping the past.

    The old household row stays, closed with ``moved_out``; a new household in
    the new dwelling takes its current members (their history records the move).
    """
    if household.moved_out is not None:
        raise ValidationError(_("This household has already moved out."))
    if dwelling.pk == household.dwelling_id:
        raise ValidationError({"dwelling": _("The household already lives in this dwelling.")})
    if household.moved_in and moved_on < household.moved_in:
        raise ValidationError({"moved_on": _("The move cannot be before the household moved in.")})
    new = household_create(
        dwelling=dwelling, tenure=household.tenure, moved_in=moved_on, notes=household.notes, by=by
    )
    moved = []
    for member in household.members.filter(moved_out__isnull=True).order_by("pk"):
        member.household = new
        member.save()
        moved.append(member.pk)
    if household.head_id in moved:
        new.head_id = household.head_id
        new.save(update_fields=["head", "updated_at"])
    household.moved_out = moved_on
    household.save(update_fields=["moved_out", "updated_at"])
    events.household_moved(actor=by, old=household, new=new, moved_on=moved_on)
    return new


# --- residents -------------------------------------------------------------------------


@transaction.atomic
def resident_create(
    *,
    household: Household,
    name: str,
    id_type: str = IdType.RESIDENT_ID,
    id_number: str = "",
    phone: str = "",
    gender: str = "",
    birth_date: datetime.date | None = None,
    relation: str | None = None,
    residence_status: str = "registered",
    nationality: str = "CN",
    care_tags: Iterable[CareTag] = (),
    lives_alone: bool = False,
    moved_in: datetime.date | None = None,
    notes: str = "",
    by=None,
) -> Resident:
    """A new member of ``household``. Without a relation the first member is its head
    (户主) and a later one "other"; a second head is refused (``residents.rules``)."""
    resident = Resident(
        household=household,
        name=validate_resident_name(name),
        gender=gender,
        birth_date=birth_date,
        residence_status=residence_status,
        nationality=(nationality or "CN").upper(),
        lives_alone=lives_alone,
        moved_in=moved_in or household.moved_in,
        notes=clean_text(notes, field="notes", multiline=True),
    )
    _apply_identity(resident, id_type, id_number)
    resident.set_phone(normalise_phone(phone))
    joining = Member(key="new", relation=relation or None, joining=True)
    decision = _headship(household=household, members=[joining])
    resident.relation = decision.relations[joining.key]
    _save(resident)
    if care_tags:
        resident.care_tags.set(care_tags)
    if decision.chosen == joining.key:
        household.head = resident
        household.save(update_fields=["head", "updated_at"])
    return resident


@transaction.atomic
def resident_update(
    *,
    resident: Resident,
    by=None,
    id_type: str | None = None,
    id_number: str | None = None,
    phone: str | None = None,
    care_tags: Iterable[CareTag] | None = None,
    **changes,
) -> Resident:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise TypeError(f"resident_update cannot change {sorted(unknown)}")
    if "name" in changes:
        changes["name"] = validate_resident_name(changes["name"])
    if "notes" in changes:
        changes["notes"] = clean_text(changes["notes"], field="notes", multiline=True)
    becomes_head = False
    if changes.get("relation") and changes["relation"] != resident.relation:
        household = resident.household
        asked = Member(key=resident.pk, relation=changes["relation"], stored=resident.relation)
        decision = _headship(household=household, members=[asked])
        becomes_head = decision.chosen == resident.pk and household.head_id != resident.pk
    for field, value in changes.items():
        setattr(resident, field, value)
    if id_number is not None:
        _apply_identity(resident, id_type or resident.id_type, id_number)
    if phone is not None:
        resident.set_phone(normalise_phone(phone))
    _save(resident)
    if becomes_head:
        household.head = resident
        household.save(update_fields=["head", "updated_at"])
    if care_tags is not None:
        resident.care_tags.set(care_tags)
    return resident


@transaction.atomic
def resident_move(
    *, resident: Resident, household: Household, moved_on: datetime.date, by=None
) -> Resident:
    """Move one person to another household (their history keeps the old one)."""
    if household.pk == resident.household_id:
        raise ValidationError({"household": _("The resident already belongs to this household.")})
    if household.moved_out is not None:
        raise ValidationError({"household": _("That household has moved out.")})
    old = resident.household
    resident.household = household
    resident.moved_in = moved_on
    resident.moved_out = None
    if household.head_id is None:
        resident.relation = Relation.HEAD
    elif resident.relation == Relation.HEAD:
        resident.relation = Relation.OTHER
    _save(resident)
    if old.head_id == resident.pk:
        old.head = None
        old.save(update_fields=["head", "updated_at"])
    if household.head_id is None:
        household.head = resident
        household.save(update_fields=["head", "updated_at"])
    return resident


@transaction.atomic
def resident_mark_moved_out(
    *, resident: Resident, moved_out: datetime.date | None = None, by=None
) -> Resident:
    moved_out = moved_out or timezone.localdate()
    if resident.moved_in and moved_out < resident.moved_in:
        raise ValidationError({"moved_out": _("Moving out cannot be before moving in.")})
    resident.moved_out = moved_out
    resident.save()
    return resident


def resident_add_tags(*, residents, tags: Iterable[CareTag]) -> int:
    """Add tags to many residents in one statement; returns the number of new links."""
    through = Resident.care_tags.through
    pairs = [
        through(resident_id=rid, caretag_id=tag.pk)
        for rid in residents.values_list("pk", flat=True)
        for tag in tags
    ]
    before = through.objects.filter(caretag__in=list(tags)).count()
    through.objects.bulk_create(pairs, ignore_conflicts=True, batch_size=1000)
    return through.objects.filter(caretag__in=list(tags)).count() - before


def resident_reveal_identity(*, user, resident: Resident, ip: str | None = None) -> dict:
    """The full ID and phone numbers, for a user with the permission; audited."""
    require_full_identity(user)
    revealed = {"id_number": resident.decrypt_identifier(), "phone": resident.decrypt_phone()}
    events.identity_revealed(
        actor=user, resident=resident, fields=[k for k, v in revealed.items() if v], ip=ip
    )
    return revealed


@transaction.atomic
def resident_anonymise(*, resident: Resident, by, ip: str | None = None) -> Resident:
    """Remove a person who asks to be removed (个人信息保护法), keeping statistics.

    Kept: place, gender, birth year, residence status, care tags, dates.
    Removed: name, identifiers, phone, notes, account link, the change history that
    held them, and the name where logs copied it: the audit log's labels
    (``events.labels_anonymised``) and the admin's history of the person.
    """
    if resident.anonymised_at is not None:
        return resident
    account_id = resident.user_id
    resident.history.all().delete()
    resident.name = str(_("Anonymised resident"))
    resident.set_identifier(resident.id_type, "")
    resident.set_phone("")
    resident.notes = ""
    if resident.user_id is not None:  # the account is no longer anyone's verified account
        user_set_verified(user_id=resident.user_id, verified=False)
    resident.user = None
    if resident.birth_date:
        resident.birth_date = resident.birth_date.replace(month=1, day=1)
    resident.anonymised_at = timezone.now()
    resident.save()
    events.resident_anonymised(actor=by, resident=resident, ip=ip)
    events.labels_anonymised(resident=resident, account_id=account_id, actor_label=resident.name)
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Resident), object_id=str(resident.pk)
    ).update(object_repr=resident.name)
    return resident
