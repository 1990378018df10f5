"""Forms of the verification, visitor and own-data pages.

They check shapes only; the rules live in the services
(``residents.services.verification`` and ``.visitors``), whose field-keyed
ValidationErrors the views attach to these forms with :func:`add_service_errors`.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import IdType, VisitorDeclaration


class TelInput(forms.TextInput):
    input_type = "tel"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Attach a service's ValidationError to the form's fields (the rest to the form)."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)


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


class VisitorForm(forms.Form):
    """外来人员信息申报: who is staying, from when to when, and why."""

    name = forms.CharField(label=_("Visitor's name"), max_length=50)
    id_type = forms.ChoiceField(
        label=_("Identity document"), choices=IdType.choices, initial=IdType.RESIDENT_ID
    )
    id_number = forms.CharField(
        label=_("ID or passport number"),
        max_length=30,
        help_text=_("A resident identity card has 18 characters."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=24,
        widget=TelInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    arrives_on = forms.DateField(label=_("From"), widget=DateInput())
    leaves_on = forms.DateField(
        label=_("To"), widget=DateInput(), help_text=_("At most one year after the first day.")
    )
    reason = forms.CharField(
        label=_("Reason for the stay"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: visiting family, looking after a relative, work."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["arrives_on"].initial = timezone.localdate


class VisitorReviewForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (VisitorDeclaration.Status.CONFIRMED, _("Confirm")),
            (VisitorDeclaration.Status.REJECTED, _("Reject")),
        ]
    )


class AnonymiseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("The resident asked to be removed, and I understand that this cannot be undone."),
        required=True,
    )
