"""Mainland resident identity card numbers (居民身份证号码, GB 11643-1999).

18 characters: a 6-digit administrative region code, an 8-digit birth date
(YYYYMMDD), a 3-digit sequence (odd for men, even for women) and a check
character computed with ISO 7064 MOD 11-2 (``X`` stands for 10).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# First two digits of the region code: provinces, Hong Kong/Macao/Taiwan (81-83)
# and the code used for residence permits of foreigners (9x).
PROVINCES = {
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
    "83",
    "91",
}
_SHAPE = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class IdNumberInfo:
    number: str
    birth_date: datetime.date
    gender: str  # "M" or "F"

    @property
    def last4(self) -> str:
        return self.number[-4:]


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalise(value: str) -> str:
    return (value or "").strip().replace(" ", "").upper()


def parse_id_number(value: str) -> IdNumberInfo:
    """Validate and decode an ID number; raise ValidationError with a precise message."""
    number = normalise(value)
    if len(number) != 18:
        raise ValidationError(
            _("An ID number has 18 characters; this one has %(count)d."),
            code="id_length",
            params={"count": len(number)},
        )
    if not _SHAPE.match(number):
        raise ValidationError(
            _("An ID number is 17 digits followed by a digit or X."), code="id_characters"
        )
    if number[:2] not in PROVINCES or number[2:6] == "0000":
        raise ValidationError(
            _("The region code %(code)s at the start of the ID number does not exist."),
            code="id_region",
            params={"code": number[:6]},
        )
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date %(date)s in the ID number is not a real date."),
            code="id_birth_date",
            params={"date": number[6:14]},
        ) from None
    if birth.year < 1900 or birth > timezone.localdate():
        raise ValidationError(
            _("The birth date %(date)s in the ID number is not possible."),
            code="id_birth_date",
            params={"date": number[6:14]},
        )
    expected = check_char(number[:17])
    if number[17] != expected:
        raise ValidationError(
            _(
                "The check digit of the ID number is wrong: the last character should be "
                "%(expected)s. Please check the number for a typing error."
            ),
            code="id_check_digit",
            params={"expected": expected},
        )
    gender = "M" if int(number[16]) % 2 else "F"
    return IdNumberInfo(number=number, birth_date=birth, gender=gender)


def validate_id_number(value: str) -> None:
    parse_id_number(value)


def mask_id_number(last4: str, prefix: str = "") -> str:
    """``310***********1234``: the region's first 3 digits when known, then stars."""
    head = prefix[:3] if prefix else "***"
    return f"{head}{'*' * 11}{last4}" if last4 else ""


def compose_id_number(region: str, birth: datetime.date, sequence: int) -> str:
    """Build a well-formed number (for demo data and tests): region, birth, 3-digit sequence.

    An odd sequence gives a man's number, an even one a woman's.
    """
    first17 = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_char(first17)
