"""Text helpers: checking text people type, and search keys for Chinese names.

:func:`clean_text` is the one check every text input passes before it is stored
(the services call it; the API, the admin, the pages and the importer call the
services or the same function). It normalises to NFC and refuses what has no place
in a name or a note and breaks exports, searches or the database: control
characters (NUL, vertical tab …), direction overrides and isolates (U+202A-U+202E,
U+2066-U+2069, which make a text read differently from what it holds), lone
surrogates and, in one-line text such as names, invisible zero-width characters
(U+200B-U+200D, U+2060, U+FEFF) and line separators. Multi-line text (notes)
keeps new lines and tabs; its line ends become ``\\n``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

_WORD = re.compile(r"[a-z0-9]+")

# Refused everywhere: direction overrides, embeddings and isolates.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Refused in one-line text: invisible characters that make two names look the same.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
# Kept in multi-line text.
MULTILINE_KEEPS = frozenset("\n\t")
_LINE_ENDS = re.compile(r"\r\n?")

INVALID_CHARACTERS = "invalid_characters"


def invalid_characters_message() -> str:
    return _(
        "This text contains a control character or an invisible formatting character "
        "(such as a zero-width space or a text direction mark). Remove it and type the "
        "text again."
    )


def _refused(char: str, *, multiline: bool) -> bool:
    if multiline and char in MULTILINE_KEEPS:
        return False
    if char in BIDI_CONTROLS:
        return True
    category = unicodedata.category(char)
    if category in ("Cc", "Cs"):  # control characters (NUL included), lone surrogates
        return True
    return not multiline and (char in ZERO_WIDTH or category in ("Zl", "Zp"))


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """The message for a text that :func:`clean_text` refuses, or None if it is fine."""
    if any(_refused(char, multiline=multiline) for char in value):
        return invalid_characters_message()
    return None


def clean_text(value, *, field: str | None = None, multiline: bool = False) -> str:
    """``value`` normalised to NFC and stripped, or ``ValidationError`` (on ``field``).

    ``multiline``: a note or a description, which may hold new lines and tabs
    (``\\r\\n`` and ``\\r`` become ``\\n``). ``None`` is the empty text.
    """
    text = "" if value is None else str(value)
    if multiline:
        text = _LINE_ENDS.sub("\n", text)
    text = unicodedata.normalize("NFC", text)
    message = text_problem(text, multiline=multiline)  # before stripping: "\x0b王五" too
    if message is not None:
        error = ValidationError(message, code=INVALID_CHARACTERS)
        raise ValidationError({field: error}) if field is not None else error
    return text.strip()


class NameSearchKeys(NamedTuple):
    """What a name is searched by, besides itself (see :func:`name_search_keys`)."""

    pinyin: str
    initials: str
    grams: str


def name_grams(name: str) -> str:
    """The name's distinct 1- and 2-character substrings, space-separated, in order of
    first occurrence: 欧阳娜娜 -> "欧 欧阳 阳 阳娜 娜 娜娜".

    A 1- or 2-character fragment without a space is one of these grams exactly when the
    name contains it, so an index over them answers what pg_trgm cannot (a fragment that
    short makes no trigram). Grams holding a space (the separator) are left out: a
    search term never holds one.
    """
    name = name or ""
    grams = dict.fromkeys(
        name[i : i + n] for i in range(len(name)) for n in (1, 2) if i + n <= len(name)
    )
    return " ".join(gram for gram in grams if " " not in gram)


def name_search_keys(name: str) -> NameSearchKeys:
    """(full pinyin, initials, grams) of a name: 张三 -> ("zhangsan", "zs", "张 张三 三").

    Pinyin and initials are lower-case ASCII; Latin words are kept (lower-cased):
    "Anna Li" gives ("annali", "al", ...), and a mixed name such as "李Anna" gives
    ("lianna", "la", ...). The grams are :func:`name_grams` of the name as stored.
    """
    syllables = []
    for chunk in lazy_pinyin((name or "").strip(), errors="default"):
        syllables.extend(_WORD.findall(chunk.lower()))
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables)
    return NameSearchKeys(full[:200], initials[:50], name_grams(name))
