"""Forms of the 外来人员信息申报 pages: the declaration (public and resident) and the
cadre's confirm / reject."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import IdType, VisitorDeclaration


class TelInput(forms.TextInput):
    input_type = "tel"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


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
