"""The registry's HTML forms, one module per page group: ``verification`` (实名认证 and
anonymising), ``visitors`` (外来人员信息申报), ``alerts`` (wellbeing alerts), ``reports``
(智慧报表).

The forms check shapes only; the rules live in the services, whose field-keyed
ValidationErrors the views attach to the forms with :func:`add_service_errors`.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Attach a service's ValidationError to the form's fields (the rest to the form)."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)
