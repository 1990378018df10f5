"""The checks of the text a person types into a report or a step."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

TEXT_MAX = 2000
REASON_MAX = 500


def required_text(value, *, field: str, max_length: int = TEXT_MAX, message=None) -> str:
    from core.text import clean_text

    text = clean_text(value, field=field, multiline=True)
    if not text:
        raise ValidationError(
            {field: ValidationError(message or _("This field is required."), code="required")}
        )
    if len(text) > max_length:
        raise ValidationError(
            {
                field: ValidationError(
                    _("At most %(max)d characters.") % {"max": max_length}, code="max_length"
                )
            }
        )
    return text


def optional_text(value, *, field: str, max_length: int = TEXT_MAX) -> str:
    from core.text import clean_text

    text = clean_text(value, field=field, multiline=True)
    if len(text) > max_length:
        raise ValidationError(
            {
                field: ValidationError(
                    _("At most %(max)d characters.") % {"max": max_length}, code="max_length"
                )
            }
        )
    return text
