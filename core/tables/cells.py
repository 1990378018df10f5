"""One cell's value, on its way out to a spreadsheet and back in.

Out (:func:`safe_value`): a text is always a text cell. A spreadsheet program treats a
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a
formula once the file is opened or saved again as CSV (OWASP "CSV injection"), so
such a text gets one leading apostrophe; characters an XLSX file cannot hold (control
characters, ``openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE``) are removed, so that a bad
value already stored never breaks an export.

In (:func:`cell_text`): the apostrophe the writer added is taken off again, so a value
exported and imported comes back unchanged. A text that itself starts with
apostrophes before a trigger character gets one more on the way out, and loses one on
the way in.
"""

from __future__ import annotations

import datetime
import decimal
import re
import unicodedata

from django.utils import timezone
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# What makes a spreadsheet read a text as a formula.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"^'*[=+\-@\t\r]")
TRUE_TEXT, FALSE_TEXT = "是", "否"
MAX_TEXT = 32767  # the longest text an XLSX cell holds


_FIRST = frozenset("'=+-@\t\r")
_illegal = ILLEGAL_CHARACTERS_RE.search


def safe_text(text: str) -> str:
    """``text`` as it may go into a cell: no control characters, no formula."""
    if _illegal(text):
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if text and text[0] in _FIRST and _ESCAPED.match(text):
        text = "'" + text
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT]


def restore_text(text: str) -> str:
    """The inverse of :func:`safe_text`'s apostrophe: ``'=1+1`` reads as ``=1+1``."""
    if text.startswith("'") and _ESCAPED.match(text[1:]):
        return text[1:]
    return text


def safe_value(value):
    """A value for a cell: numbers, dates and booleans stay typed, anything else is text."""
    if value is None or isinstance(value, bool | int | float | decimal.Decimal):
        return value
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value).replace(tzinfo=None)
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value
    return safe_text(value if isinstance(value, str) else str(value))


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value) -> str:
    """A cell read from a file as text: numbers without a spurious ".0", dates as
    YYYY-MM-DD, NFKC-normalised (full-width digits and letters become ASCII), the
    writer's apostrophe taken off, surrounding space stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return TRUE_TEXT if value else FALSE_TEXT
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return restore_text(unicodedata.normalize("NFKC", str(value))).strip()
