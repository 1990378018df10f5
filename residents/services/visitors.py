"""外来人员信息申报: visitors staying in a household, declared by them or by a resident.

* Each current household has a visitor link, ``/visit/<token>/``: an opaque token
  (AES-GCM with a key derived from SECRET_KEY, salt :data:`LINK_SALT`) sealing the
  household, the link's generation and the day it was given out; it works for
  ``LINLI_VISITOR_LINK_DAYS`` (30) days after that. The household's verified
  residents see a fresh one on ``/me/`` (with its last day) and can replace it
  (:func:`visitor_link_rotate`), which makes every earlier link invalid. The
  generation is ``Household.visitor_link_generation`` (0 before any replacement);
  the ``visitor_link_rotated`` audit event only records who replaced it and when,
  and is never read back.
* :func:`visitor_declare` validates and stores a declaration: the document
  number like residents' (``normalise_identifier``), encrypted, with its last 4
  characters for masked display; the phone the same way. Through the public link
  it is rate limited: ``LINLI_VISITOR_ADDRESS_PER_HOUR`` (20) posts per client
  address (cache; not counted while the cache is down) and
  ``LINLI_VISITOR_HOUSEHOLD_PER_HOUR`` (10) declarations per household (counted in
  the database under the household's row lock).
* Cadres confirm or reject declarations (:func:`visitor_declaration_review`,
  audited); the lists are read in ``residents.selectors.visitors``.
* :func:`visitor_declarations_purge` (daily, Celery) blanks the personal fields
  ``LINLI_VISITOR_PURGE_DAYS`` (30) days after the stay ended; idempotent.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from buildings.models import add_years
from core.crypto import cipher
from core.text import clean_text

from .. import events
from ..models import Household, IdType, VisitorDeclaration
from ..selectors.visitors import purge_days
from .registry import normalise_identifier, normalise_phone

LINK_SALT = "residents.visitor-link"
DEFAULT_LINK_DAYS = 30
# household id, link generation, day of issue (proleptic ordinal)
_PAYLOAD = struct.Struct(">QII")
# the public form's budgets: declarations per household and posts per address, per hour
DEFAULT_HOUSEHOLD_PER_HOUR = 10
DEFAULT_ADDRESS_PER_HOUR = 20
THROTTLE_WINDOW = datetime.timedelta(hours=1)
# What a purged declaration keeps as its name (pages show a translated label instead).
PURGED_NAME = "-"

VISITOR_LINK_ROTATED = events.VISITOR_LINK_ROTATED
VISITOR_DECLARATION_REVIEWED = events.VISITOR_DECLARATION_REVIEWED


# --- the household's link -----------------------------------------------------------------


def link_days() -> int:
    """How many days a visitor link works after the /me/ page gave it out."""
    return max(1, int(getattr(settings, "LINLI_VISITOR_LINK_DAYS", DEFAULT_LINK_DAYS)))


def _link_secrets() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def _link_aead(secret: str) -> AESGCM:
    key = salted_hmac(f"{LINK_SALT}.key", "aes-256-gcm", secret, algorithm="sha256")
    return AESGCM(key.digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def visitor_link_token(household: Household, *, today: datetime.date | None = None) -> str:
    """The token of the household's current visitor link, issued ``today`` (no query).

    Opaque: AES-GCM over (household id, link generation, day of issue) with a key derived
    from SECRET_KEY; the nonce is derived from the same values, so the token is the same
    all day and names nothing readable.
    """
    today = today or timezone.localdate()
    plain = _PAYLOAD.pack(household.pk, household.visitor_link_generation, today.toordinal())
    secret = settings.SECRET_KEY
    nonce = salted_hmac(f"{LINK_SALT}.nonce", plain, secret, algorithm="sha256").digest()[:12]
    return _b64(nonce + _link_aead(secret).encrypt(nonce, plain, LINK_SALT.encode()))


def _open(token: str) -> tuple[int, int, datetime.date] | None:
    try:
        raw = _unb64(token or "")
    except (ValueError, TypeError):
        return None
    if len(raw) != 12 + _PAYLOAD.size + 16:
        return None
    for secret in _link_secrets():
        try:
            plain = _link_aead(secret).decrypt(raw[:12], raw[12:], LINK_SALT.encode())
        except InvalidTag:
            continue
        household_id, generation, day = _PAYLOAD.unpack(plain)
        try:
            return household_id, generation, datetime.date.fromordinal(day)
        except ValueError:
            return None
    return None


def visitor_link_expires_on(
    token: str | None = None, *, today: datetime.date | None = None
) -> datetime.date | None:
    """The last day a link works: ``link_days()`` after it was given out (None: not a link).

    Without a token: the last day of a link given out ``today``.
    """
    if token is None:
        issued = today or timezone.localdate()
    else:
        opened = _open(token)
        if opened is None:
            return None
        issued = opened[2]
    return issued + datetime.timedelta(days=link_days())


def household_for_visitor_token(
    token: str, *, today: datetime.date | None = None
) -> Household | None:
    """The current household a valid, unexpired, current token names, else None."""
    opened = _open(token)
    if opened is None:
        return None
    household_id, generation, issued = opened
    today = today or timezone.localdate()
    if not issued <= today <= issued + datetime.timedelta(days=link_days()):
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


# --- the public form's budget ----------------------------------------------------------------


class VisitorRateLimited(Exception):
    """Too many declarations through the link lately, for this household or this address."""


def household_per_hour() -> int:
    return int(getattr(settings, "LINLI_VISITOR_HOUSEHOLD_PER_HOUR", DEFAULT_HOUSEHOLD_PER_HOUR))


def address_per_hour() -> int:
    return int(getattr(settings, "LINLI_VISITOR_ADDRESS_PER_HOUR", DEFAULT_ADDRESS_PER_HOUR))


def _spend_address_budget(ip: str | None, now: datetime.datetime) -> None:
    """Count one post from ``ip`` in the cache (a fixed hourly window); raise past the budget.

    If the cache is down the address is not counted: the household's budget, counted in
    the database, still holds.
    """
    if not ip:
        return
    window = int(now.timestamp() // THROTTLE_WINDOW.total_seconds())
    digest = hashlib.sha256(f"{LINK_SALT}:{ip}".encode()).hexdigest()[:32]
    key = f"visitor-form:{digest}:{window}"
    try:
        cache.add(key, 0, timeout=int(THROTTLE_WINDOW.total_seconds()) + 60)
        count = cache.incr(key)
    except Exception:  # noqa: BLE001 - any cache failure: fall back to the database budget
        return
    if count > address_per_hour():
        raise VisitorRateLimited()


def _check_household_budget(household: Household, now: datetime.datetime) -> None:
    """Under the household's row lock: refuse past ``household_per_hour()`` declarations."""
    Household.objects.select_for_update().filter(pk=household.pk).values_list("pk").first()
    recent = VisitorDeclaration.objects.filter(
        household=household, created_at__gt=now - THROTTLE_WINDOW
    ).count()
    if recent >= household_per_hour():
        raise VisitorRateLimited()


# --- declaring ---------------------------------------------------------------------------


def _validate(
    *, name, id_type, id_number, phone, arrives_on, leaves_on, reason, today
) -> tuple[str, str, str, str]:
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    try:
        name = clean_text(name)
    except ValidationError as exc:
        add("name", exc.messages[0])
        name = None
    if name is None:
        pass
    elif not name:
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
    try:
        reason = clean_text(reason, multiline=True)
    except ValidationError as exc:
        add("reason", exc.messages[0])
        reason = None
    if reason is None:
        pass
    elif not reason:
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
    public: bool = False,
    ip: str | None = None,
) -> VisitorDeclaration:
    """Store a declaration for ``household`` (by a visitor through its link, or a resident).

    Raises ValidationError keyed by field (``name``, ``id_type``, ``id_number``,
    ``phone``, ``leaves_on``, ``reason``), all problems at once. ``public``: sent through
    the household's link, from ``ip``; raises :class:`VisitorRateLimited` past the
    address's budget (every post counts) or the household's (stored declarations).
    """
    if household.moved_out is not None:
        raise ValidationError(_("This household has moved out."))
    now = timezone.now()
    if public:
        _spend_address_budget(ip, now)
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
    if public:
        _check_household_budget(household, now)
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
