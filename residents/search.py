"""One search box for the registry: name, pinyin, initials, phone or ID suffix, whole ID.

* Chinese characters: the name contains them (pg_trgm GIN index on PostgreSQL).
* Latin letters: the name's full pinyin starts with / contains them, or the
  initials start with them (张三 / zhangsan / zs).
* Four characters of digits (or three digits and X): last 4 of the phone or ID number.
* A whole valid ID number: exact match by keyed hash, never by decrypting.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db.models import Q

from .idnumbers import parse_id_number
from .models import IdType
from .models.registry import identifier_hash, phone_hash

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"^[a-z]+$")
_SUFFIX = re.compile(r"^\d{3}[\dX]$")
_DOC = re.compile(r"^[A-Z0-9]{5,20}$")


def resident_search_q(term: str, prefix: str = "") -> Q:
    """A Q over Resident (or over a model reaching Resident through ``prefix``, e.g.
    ``"members__"``) for what a cadre typed. An empty term matches everything."""
    term = (term or "").strip()
    if not term:
        return Q()
    p = prefix
    compact = term.replace(" ", "")
    upper = compact.upper()
    if _CJK.search(term):
        return Q(**{f"{p}name__contains": compact})
    if len(upper) == 18:
        try:
            number = parse_id_number(upper).number
        except ValidationError:
            pass
        else:
            return Q(**{f"{p}id_hash": identifier_hash(IdType.RESIDENT_ID, number)})
    if _SUFFIX.match(upper):
        return Q(**{f"{p}id_last4": upper}) | Q(**{f"{p}phone_last4": upper})
    if re.fullmatch(r"1[3-9]\d{9}", compact):  # a whole mobile number: by its keyed hash
        return Q(**{f"{p}phone_hash": phone_hash(compact)})
    lower = compact.lower()
    if _LATIN.match(lower):
        return (
            Q(**{f"{p}name_initials__startswith": lower})
            | Q(**{f"{p}name_pinyin__startswith": lower})
            | Q(**{f"{p}name_pinyin__contains": lower})
        )
    if _DOC.match(upper):  # passport and permit numbers: exact, by hash
        return Q(**{f"{p}id_hash__in": [identifier_hash(t, upper) for t in IdType.values]})
    return Q(**{f"{p}name__icontains": term})
