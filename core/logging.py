"""Log records never carry a whole national ID number.

:class:`MaskIdNumbers` is a ``logging.Filter`` installed on every handler of
``config.settings`` ``LOGGING`` and of gunicorn's ``logconfig_dict``
(``config/gunicorn.py``), so the access log, Django's request log and anything an app
logs go through it. It replaces each run of 18 characters that is a checksum-valid
GB 11643 number (17 digits and a check character, digit or X, either case) with
:data:`MASK`. URLs need no decoding first: digits and X are never percent-encoded.

The filter formats the message once (``record.getMessage()``), and only when that text
holds such a number does it replace the record's message and drop its arguments; a
record's traceback text is masked the same way. It never drops a record.

``core`` sits below ``residents``: the GB 11643 checksum is written here again for
logs (``residents.idnumbers`` validates the full number, birth date included, for
the registry); a false positive only masks 18 characters of a log line.
"""

from __future__ import annotations

import logging
import re

MASK = "[ID-NUMBER]"

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# 18 characters not inside a longer run of digits: 17 digits and a check character.
_CANDIDATE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9Xx])")


def is_gb11643(candidate: str) -> bool:
    """True when 17 digits and a check character satisfy the GB 11643 checksum."""
    if len(candidate) != 18 or not candidate[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(candidate[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == candidate[17].upper()


def mask_id_numbers(text: str) -> str:
    """``text`` with every checksum-valid 18-character ID number replaced by MASK."""
    if not text or len(text) < 18:
        return text
    return _CANDIDATE.sub(lambda m: MASK if is_gb11643(m.group(0)) else m.group(0), text)


def _contains_id_number(text: str) -> bool:
    return any(is_gb11643(m.group(0)) for m in _CANDIDATE.finditer(text or ""))


class MaskIdNumbers(logging.Filter):
    """Masks whole ID numbers in a record's message and traceback; keeps the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logged as it is
            return True
        if _contains_id_number(message):
            record.msg = mask_id_numbers(message)
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and _contains_id_number(record.exc_text):
            record.exc_text = mask_id_numbers(record.exc_text)
        if record.stack_info and _contains_id_number(record.stack_info):
            record.stack_info = mask_id_numbers(record.stack_info)
        return True
