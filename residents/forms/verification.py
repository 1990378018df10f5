"""Forms of the 实名认证 pages: a resident's verification, a cadre's anonymising."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class VerifyForm(forms.Form):
    """实名认证: the code from the slip, the name as registered, the ID's last 4."""

    code = forms.CharField(
        label=_("Household code"),
        max_length=20,
        help_text=_("The 8 letters and digits on the slip from your residents' committee."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )
    name = forms.CharField(
        label=_("Your name"),
        max_length=50,
        help_text=_("As the residents' committee registered it."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    id_last4 = forms.CharField(
        label=_("Last 4 characters of your ID number"),
        min_length=4,
        max_length=4,
        help_text=_("Of your identity card or passport; an X is fine."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "size": 6}
        ),
    )


class AnonymiseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("The resident asked to be removed, and I understand that this cannot be undone."),
        required=True,
    )
