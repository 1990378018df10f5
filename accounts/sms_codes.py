"""Codes by text message: sign-up, sign-in and password reset with a mainland mobile.

* :func:`request_code` makes a 6-digit code (``secrets``), keeps only its keyed hash
  (``salted_hmac``) in an :class:`~accounts.models.SmsCode` row and texts it through
  ``core.sms.send_sms``. Requests are limited per phone (one a minute, 5 an
  hour) and per client address (10 an hour); the settings
  ``LINLI_SMS_CODE_INTERVAL_SECONDS``, ``LINLI_SMS_CODE_PHONE_PER_HOUR`` and
  ``LINLI_SMS_CODE_ADDRESS_PER_HOUR`` change them.
* Whether the number has an account never changes the answer: every request that is
  within the limits writes one row and sends one text. When the code could not be used
  (sign-up for a number that has an account; sign-in or reset for one that has none),
  the row is born used up and the text says what to do instead.
* :func:`verify_code` accepts the newest code of the number for the purpose once,
  before it expires (``LINLI_SMS_CODE_MINUTES``, 5) and within
  ``LINLI_SMS_CODE_MAX_ATTEMPTS`` (5) wrong tries; the comparison is constant-time.
"""

from __future__ import annotations

import datetime
import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from core import sms
from core.locks import advisory_lock

from .models import SmsCode, User

logger = logging.getLogger("linli.accounts")

KEY_SALT = "linli.accounts.sms_codes"
CODE_DIGITS = 6
PURPOSES = frozenset(SmsCode.Purpose.values)


class SmsCodeThrottled(Exception):
    """Too many codes asked for this number or from this address; try at ``retry_at``."""

    def __init__(self, retry_at: datetime.datetime):
        super().__init__(retry_at)
        self.retry_at = retry_at


class SmsCodeNotSent(Exception):
    """The SMS backend failed. The request still counts against the limits, so a
    failing gateway is not called in a loop; the code is dead."""


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def code_minutes() -> int:
    return _setting("LINLI_SMS_CODE_MINUTES", 5)


def max_attempts() -> int:
    return _setting("LINLI_SMS_CODE_MAX_ATTEMPTS", 5)


def code_hash(phone: str, purpose: str, code: str) -> str:
    """The keyed hash stored in place of the code (bound to the number and purpose)."""
    return salted_hmac(KEY_SALT, f"{purpose}:{phone}:{code}", algorithm="sha256").hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _retry_at(
    now: datetime.datetime, phone: str, client_ip: str | None
) -> datetime.datetime | None:
    """When the next request is allowed, or None when it is allowed now."""
    interval = datetime.timedelta(seconds=_setting("LINLI_SMS_CODE_INTERVAL_SECONDS", 60))
    hour = datetime.timedelta(hours=1)
    waits = []
    by_phone = list(
        SmsCode.objects.filter(phone=phone, created_at__gt=now - hour)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
    )
    if by_phone and by_phone[0] > now - interval:
        waits.append(by_phone[0] + interval)
    per_phone = _setting("LINLI_SMS_CODE_PHONE_PER_HOUR", 5)
    if len(by_phone) >= per_phone:
        waits.append(by_phone[per_phone - 1] + hour)
    if client_ip:
        per_address = _setting("LINLI_SMS_CODE_ADDRESS_PER_HOUR", 10)
        by_address = list(
            SmsCode.objects.filter(client_ip=client_ip, created_at__gt=now - hour)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[:per_address]
        )
        if len(by_address) >= per_address:
            waits.append(by_address[per_address - 1] + hour)
    return max(waits) if waits else None


def _message(purpose: str, code: str, has_account: bool) -> tuple[str, bool]:
    """The text to send (in the active language) and whether the code is usable."""
    if purpose == SmsCode.Purpose.SIGNUP and has_account:
        return (
            _(
                "【Linli】This number already has a Linli account. Sign in, or reset your "
                "password with a text message code."
            ),
            False,
        )
    if purpose != SmsCode.Purpose.SIGNUP and not has_account:
        return (
            _("【Linli】No Linli account uses this number. You can sign up with it."),
            False,
        )
    return (
        _(
            "【Linli】Your code is %(code)s. It is valid for %(minutes)s minutes. "
            "Do not tell anyone."
        )
        % {"code": code, "minutes": code_minutes()},
        True,
    )


def request_code(
    phone: str, purpose: str, client_ip: str | None, now: datetime.datetime | None = None
) -> SmsCode:
    """Text a new code to ``phone`` for ``purpose`` (``phone`` already normalised and
    checked). Raises :class:`SmsCodeThrottled` over the limits, :class:`SmsCodeNotSent`
    when the backend fails. The caller answers the same whatever comes back."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    now = now or timezone.now()
    account = User.objects.filter(phone=phone).only("pk", "language", "is_active").first()
    has_account = account is not None and (account.is_active or purpose == "signup")
    code = _new_code()
    language = account.language if account is not None else translation.get_language()
    with transaction.atomic():
        # Requests for one phone, and from one address, wait for each other here, so
        # two in the same instant cannot both pass the limits (core.locks; always the
        # phone's lock first).
        advisory_lock(f"linli:sms-code-phone:{phone}")
        if client_ip:
            advisory_lock(f"linli:sms-code-address:{client_ip}")
        retry_at = _retry_at(now, phone, client_ip)
        if retry_at is not None:
            raise SmsCodeThrottled(retry_at)
        with translation.override(language):
            message, usable = _message(purpose, code, has_account)
        row = SmsCode.objects.create(
            phone=phone,
            purpose=purpose,
            code_hash=code_hash(phone, purpose, code),
            created_at=now,
            expires_at=now + datetime.timedelta(minutes=code_minutes()),
            used_at=None if usable else now,
            client_ip=client_ip or None,
        )
    try:
        sms.send_sms(phone, message)
    except Exception as exc:
        logger.warning("SMS code to %s****%s not sent: %s", phone[:3], phone[-4:], exc)
        SmsCode.objects.filter(pk=row.pk).update(used_at=now)
        raise SmsCodeNotSent from exc
    return row


def verify_code(phone: str, purpose: str, code: str, now: datetime.datetime | None = None) -> bool:
    """True once for the newest unexpired code of ``phone`` for ``purpose``; a wrong
    code counts a try, and after ``max_attempts()`` the code is dead."""
    now = now or timezone.now()
    code = "".join((code or "").split())
    with transaction.atomic():
        row = (
            SmsCode.objects.select_for_update()
            .filter(phone=phone, purpose=purpose)
            .order_by("-created_at", "-pk")
            .first()
        )
        if row is None or row.used_at is not None or row.expires_at <= now:
            return False
        if row.attempts >= max_attempts():
            return False
        if constant_time_compare(row.code_hash, code_hash(phone, purpose, code)):
            row.used_at = now
            row.save(update_fields=["used_at"])
            return True
        row.attempts += 1
        if row.attempts >= max_attempts():
            row.used_at = now
        row.save(update_fields=["attempts", "used_at"])
        return False


def purge_codes(*, now: datetime.datetime | None = None, keep_hours: int = 24) -> int:
    """Delete the rows older than ``keep_hours`` (the limits look back one hour)."""
    now = now or timezone.now()
    deleted, _rows = SmsCode.objects.filter(
        created_at__lt=now - datetime.timedelta(hours=keep_hours)
    ).delete()
    return deleted
