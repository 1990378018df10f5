"""One search box for the registry: name, pinyin, initials, phone or ID suffix, whole ID.

* Chinese characters: the name contains them (on PostgreSQL, a pg_trgm GIN index for
  three or more characters, the GIN index over the name's 1- and 2-character grams,
  ``name__fragment``, for one or two).
* Latin letters: the name's full pinyin starts with / contains them, or the
  initials start with them (张三 / zhangsan / zs).
* Four characters of digits (or three digits and X): last 4 of the phone or ID number.
* A whole valid ID number: exact match by keyed hash, never by decrypting.

A whole ID number must never travel in a URL (it would reach access logs, browser
history and Referer headers): the search boxes POST to ``registry:search``, which
swaps it for its search token (:func:`search_token`, ``idh:`` and the number's keyed
hash) and redirects to the list with ``?q=<token>``; this search accepts the token.
A GET that still carries a whole number is redirected with the token in its place
(:func:`query_without_id_numbers`), and the API answers it with a 400.
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
TOKEN_PREFIX = "idh:"  # noqa: S105 - a search token's prefix, not a secret
_TOKEN = re.compile(r"^idh:([0-9a-f]{64})$")


def whole_id_number(term: str) -> str | None:
    """The normalised ID number if ``term`` is a whole valid one (spaces ignored), else None."""
    upper = (term or "").replace(" ", "").strip().upper()
    if len(upper) != 18:
        return None
    try:
        return parse_id_number(upper).number
    except ValidationError:
        return None


def search_token(term: str) -> str:
    """``term`` with a whole ID number swapped for its opaque search token; else unchanged."""
    number = whole_id_number(term)
    if number is None:
        return term
    return TOKEN_PREFIX + identifier_hash(IdType.RESIDENT_ID, number)


def query_without_id_numbers(query, names=("q",)):
    """A copy of ``query`` (a QueryDict) with whole ID numbers in ``names`` swapped for
    tokens, or None if there was none to swap."""
    found = [name for name in names if any(whole_id_number(v) for v in query.getlist(name))]
    if not found:
        return None
    query = query.copy()
    for name in found:
        query.setlist(name, [search_token(v) for v in query.getlist(name)])
    return query


def resident_search_q(term: str, prefix: str = "") -> Q:
    """A Q over Resident (or over a model reaching Resident through ``prefix``, e.g.
    ``"members__"``) for what a cadre typed. An empty term matches everything."""
    term = (term or "").strip()
    if not term:
        return Q()
    p = prefix
    token = _TOKEN.match(term)
    if token:
        return Q(**{f"{p}id_hash": token.group(1)})
    compact = term.replace(" ", "")
    upper = compact.upper()
    if _CJK.search(term):
        # 1-2 characters make no trigram: the name's grams answer them (name__fragment)
        lookup = "fragment" if len(compact) <= 2 else "contains"
        return Q(**{f"{p}name__{lookup}": compact})
    number = whole_id_number(upper)
    if number is not None:
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
