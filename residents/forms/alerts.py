"""Forms of the wellbeing alert pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class HandleAlertForm(forms.Form):
    note = forms.CharField(
        label=_("What was done"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
