"""实名认证 (real-name verification): household codes and linking accounts to residents.

* A cadre issues a one-time code for a household (:func:`household_code_issue`):
  8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), printed on a
  slip and handed over in person. Only a keyed hash of the code is stored; a new
  code revokes the household's previous unused one; codes expire after
  ``LINLI_HOUSEHOLD_CODE_DAYS`` (30) days.
* A signed-in resident proves who they are (:func:`verification_attempt`) with
  the code, their name and the last 4 characters of their ID number. A failure
  says nothing about which part was wrong. Failures are limited per account
  (``LINLI_VERIFY_MAX_FAILURES`` = 5 per ``LINLI_VERIFY_WINDOW_MINUTES`` = 60) and,
  more loosely, per address (``LINLI_VERIFY_MAX_ADDRESS_FAILURES``, 4 times the
  account limit: neighbours share addresses, so one account's failures never lock
  out another's); every try is a ``VerificationAttempt`` row. The address is the
  client's behind the trusted proxies (``core.net.client_ip``). Counting and
  recording are atomic: a try locks its account row, and on PostgreSQL a
  transaction-scoped advisory lock on its address, so parallel tries cannot all
  pass the check before any is recorded.
* The cadre can revoke an unused code (:func:`household_code_revoke`) and undo a
  verification (:func:`verification_revoke`). All of it is audited.
"""

from __future__ import annotations

import datetime
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.services import user_set_verified
from core.crypto import keyed_hash
from core.locks import advisory_lock
from core.text import clean_text

from .. import events
from ..models import Household, HouseholdCode, Resident, VerificationAttempt

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 8
DEFAULT_CODE_DAYS = 30
DEFAULT_MAX_FAILURES = 5
DEFAULT_WINDOW_MINUTES = 60

VERIFICATION_REVOKED = events.VERIFICATION_REVOKED

# One message for every kind of failure: it must not tell which part was wrong.
GENERIC_FAILURE = gettext_lazy(
    "We could not verify you with these details. Check the code on your slip, your name "
    "as the residents' committee registered it and the last 4 characters of your ID "
    "number, then try again. If it still fails, ask your residents' committee."
)


class VerificationFailed(ValidationError):
    """The code, the name or the last 4 characters did not match (never says which)."""

    def __init__(self):
        super().__init__(GENERIC_FAILURE, code="verification_failed")


class VerificationRateLimited(Exception):
    """Too many failed tries from this account or address; ``retry_at`` says when."""

    def __init__(self, retry_at: datetime.datetime):
        super().__init__(retry_at)
        self.retry_at = retry_at


# --- settings ---------------------------------------------------------------------------


def code_days() -> int:
    return int(getattr(settings, "LINLI_HOUSEHOLD_CODE_DAYS", DEFAULT_CODE_DAYS))


def max_failures() -> int:
    return int(getattr(settings, "LINLI_VERIFY_MAX_FAILURES", DEFAULT_MAX_FAILURES))


def address_max_failures() -> int:
    default = 4 * max_failures()
    return int(getattr(settings, "LINLI_VERIFY_MAX_ADDRESS_FAILURES", default) or default)


def failure_window() -> datetime.timedelta:
    return datetime.timedelta(
        minutes=float(getattr(settings, "LINLI_VERIFY_WINDOW_MINUTES", DEFAULT_WINDOW_MINUTES))
    )


# --- codes ------------------------------------------------------------------------------

_NOT_CODE = re.compile(r"[^A-Z0-9]")


def normalise_code(value: str) -> str:
    """Upper case, without spaces or dashes: " abcd-efgh " -> "ABCDEFGH"."""
    return _NOT_CODE.sub("", (value or "").upper())


def format_code(code: str) -> str:
    """The code as printed: two groups of four ("ABCD-EFGH")."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def code_hash(code: str) -> str:
    return keyed_hash(f"household-code:{normalise_code(code)}")


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


@dataclass(frozen=True)
class IssuedCode:
    """A code just issued: the row and the plain code, which exists nowhere else."""

    code: HouseholdCode
    plain: str

    @property
    def printed(self) -> str:
        return format_code(self.plain)


def household_codes_usable(household: Household):
    now = timezone.now()
    return HouseholdCode.objects.filter(
        household=household, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    )


@transaction.atomic
def household_code_issue(
    *, household: Household, by, days: int | None = None, now: datetime.datetime | None = None
) -> IssuedCode:
    """A new one-time code for ``household``; its previous unused codes are revoked.

    The caller has checked that ``by`` manages the household (``access_household``).
    """
    if household.moved_out is not None:
        raise ValidationError(_("This household has moved out; issue a code for its new home."))
    now = now or timezone.now()
    days = code_days() if days is None else days
    if days < 1:
        raise ValidationError(_("A code must be valid for at least one day."))
    # Lock the household so that two cadres issuing at once leave one usable code.
    Household.objects.select_for_update().filter(pk=household.pk).get()
    for old in HouseholdCode.objects.filter(
        household=household, used_at__isnull=True, revoked_at__isnull=True
    ).order_by("pk"):
        old.revoked_at = now
        old.save(update_fields=["revoked_at"])
        if old.expires_at > now:
            events.household_code_revoked(actor=by, household=household, code_id=old.pk)
    while True:
        plain = _new_code()
        digest = code_hash(plain)
        if not HouseholdCode.objects.filter(code_hash=digest).exists():
            break
    code = HouseholdCode.objects.create(
        household=household,
        neighbourhood_id=household.neighbourhood_id,
        code_hash=digest,
        issued_by=by if getattr(by, "pk", None) else None,
        issued_at=now,
        expires_at=now + datetime.timedelta(days=days),
    )
    events.household_code_issued(actor=by, household=household, code_id=code.pk)
    return IssuedCode(code=code, plain=plain)


@transaction.atomic
def household_code_revoke(*, code: HouseholdCode, by) -> HouseholdCode:
    """Revoke an unused code (lost slip, wrong household). Audited."""
    code = HouseholdCode.objects.select_for_update().get(pk=code.pk)
    if code.used_at is not None:
        raise ValidationError(_("This code has already been used; it cannot be revoked."))
    if code.revoked_at is not None:
        return code
    code.revoked_at = timezone.now()
    code.save(update_fields=["revoked_at"])
    events.household_code_revoked(actor=by, household=code.household, code_id=code.pk)
    return code


# --- verifying ------------------------------------------------------------------------


def _retry_at(failures, limit: int) -> datetime.datetime | None:
    """When the oldest failure that keeps the count at ``limit`` leaves the window."""
    times = sorted(failures)
    if len(times) < limit:
        return None
    return times[len(times) - limit] + failure_window()


def verification_retry_at(
    *, user, ip: str | None, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """None if ``user`` (and ``ip``) may try now, else the time they may try again."""
    now = now or timezone.now()
    since = now - failure_window()
    failed = VerificationAttempt.objects.filter(succeeded=False, created_at__gt=since)
    waits = [
        _retry_at(failed.filter(user=user).values_list("created_at", flat=True), max_failures())
    ]
    if ip:
        by_address = failed.filter(ip_address=ip).values_list("created_at", flat=True)
        waits.append(_retry_at(by_address, address_max_failures()))
    waits = [w for w in waits if w is not None and w > now]
    return max(waits) if waits else None


def _lock_tries(user: User, ip: str | None) -> None:
    """Serialise the tries of one account, and of one address (inside a transaction).

    The account's row is locked; an address has no row, so on PostgreSQL a
    transaction-scoped advisory lock keyed by it is taken (always after the account's,
    so two tries never wait on each other crosswise).
    """
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    if ip:
        advisory_lock(f"linli:verify-address:{ip}")


def _same_name(a: str, b: str) -> bool:
    # Names are compared without spaces (张 三 = 张三) and case (Anna = ANNA).
    return "".join(a.split()).casefold() == "".join(b.split()).casefold()


def _usable_at(code: HouseholdCode, now: datetime.datetime) -> bool:
    return code.used_at is None and code.revoked_at is None and code.expires_at > now


def _find_resident(code: HouseholdCode, name: str, id_last4: str) -> Resident | None:
    candidates = [
        r
        for r in Resident.objects.filter(
            household_id=code.household_id,
            moved_out__isnull=True,
            anonymised_at__isnull=True,
            user__isnull=True,
        ).exclude(id_last4="")
        if _same_name(r.name, name) and secrets.compare_digest(r.id_last4, id_last4)
    ]
    return candidates[0] if len(candidates) == 1 else None


def verification_attempt(
    *,
    user: User,
    code: str,
    name: str,
    id_last4: str,
    ip: str | None = None,
    now: datetime.datetime | None = None,
) -> Resident:
    """Link ``user`` to their Resident record, or raise.

    Raises :class:`VerificationRateLimited` (nothing recorded) when too many
    tries failed lately, :class:`VerificationFailed` (recorded) when anything
    does not match, ``ValidationError`` when the account is already verified, or (on
    ``name``, nothing recorded) when the name holds a character :func:`clean_text`
    refuses: that is the text's fault, not a guess, so it is a form error, not a try.
    """
    name = clean_text(name, field="name")
    now = now or timezone.now()
    id_last4 = normalise_code(id_last4)
    digest = code_hash(code) if len(normalise_code(code)) == CODE_LENGTH else None
    with transaction.atomic():
        # the check, the try and its record are one step per account and per address
        _lock_tries(user, ip)
        user.refresh_from_db(fields=["verified"])
        if user.verified or Resident.objects.filter(user=user).exists():
            raise ValidationError(_("Your account is already verified."), code="already_verified")
        retry_at = verification_retry_at(user=user, ip=ip, now=now)
        if retry_at is not None:
            raise VerificationRateLimited(retry_at)
        row = (
            HouseholdCode.objects.select_for_update().filter(code_hash=digest).first()
            if digest
            else None
        )
        resident = None
        if row is not None and _usable_at(row, now) and len(id_last4) == 4:
            resident = _find_resident(row, name or "", id_last4)
        if resident is not None:
            row.used_at = now
            row.used_by = user
            row.save(update_fields=["used_at", "used_by"])
            resident.user = user
            resident.save()
            user_set_verified(user_id=user.pk, verified=True, user=user)
            VerificationAttempt.objects.create(
                user=user, ip_address=ip, succeeded=True, created_at=now
            )
            events.resident_verified(actor=user, resident=resident, ip=ip)
            return resident
        VerificationAttempt.objects.create(
            user=user, ip_address=ip, succeeded=False, created_at=now
        )
    raise VerificationFailed()


@transaction.atomic
def verification_revoke(*, resident: Resident, by, ip: str | None = None) -> Resident:
    """Unlink the resident's account (it is no longer verified). Audited.

    The caller has checked that ``by`` manages the resident (``access_resident``).
    """
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    if resident.user_id is None:
        raise ValidationError(_("This resident has no verified account."))
    account_id = resident.user_id
    resident.user = None
    resident.save()
    user_set_verified(user_id=account_id, verified=False)
    events.verification_revoked(actor=by, resident=resident, account_id=account_id, ip=ip)
    return resident
