"""The HTML forms of issue reporting: ``report`` (reporting, by a resident or by staff for
a caller, with the pending-photo carry-over), ``workflow`` (the moves, comments, ratings)
and ``filters`` (the lists' GET filters).

The forms check shapes only; the rules live in ``issues.services``, whose field-keyed
ValidationErrors the views attach with :func:`add_service_errors`.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.Form, exc: ValidationError, *, field_map=None) -> None:
    """Attach a service's ValidationError to the form's fields (the rest to the form).

    ``field_map`` renames service keys to form field names (attribute codes, say).
    """
    field_map = field_map or {}
    if hasattr(exc, "error_dict"):
        for key, messages in exc.message_dict.items():
            name = field_map.get(key, key)
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)
