"""The registry admin's forms: they save through ``residents.services`` and validate
through the same calls (``core.admin_forms.ServiceModelForm``), so that the services'
rules (GB 11643, duplicates, the household head) show as form errors.

Full ID and phone numbers are typed in plain fields that are never filled with the
stored value; the help text shows the stored number masked.
"""

from __future__ import annotations

from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.admin_forms import ServiceModelForm

from ..models import Household, IdType, Resident
from ..rules import RESIDENT_FIELDS
from ..services import (
    household_create,
    household_set_head,
    household_update,
    resident_create,
    resident_update,
)


class ResidentAdminForm(ServiceModelForm):
    """Identifiers are typed in plain fields that are never filled with the stored value."""

    #: fields passed to resident_create / resident_update as they are
    SERVICE_FIELDS = RESIDENT_FIELDS

    id_number = forms.CharField(
        label=_("ID number"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=pgettext_lazy("person", "phone"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )

    class Meta:
        model = Resident
        fields = (
            "household",
            "name",
            "relation",
            "id_type",
            "gender",
            "birth_date",
            "nationality",
            "residence_status",
            "moved_in",
            "moved_out",
            "lives_alone",
            "care_tags",
            "notes",
        )
        widgets = {"care_tags": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        resident = self.instance
        if "id_number" in self.fields:
            self.fields["id_number"].help_text = self._stored_help(
                resident.masked_id if resident.pk else "",
                _(
                    "For a resident identity card: 18 characters; gender and date of "
                    "birth are then taken from the number."
                ),
            )
        if "phone" in self.fields:
            self.fields["phone"].help_text = self._stored_help(
                resident.masked_phone if resident.pk else "",
                _("A mobile number, or a landline with its area code."),
            )

    def _stored_help(self, masked: str, hint):
        if self.instance.pk is None:
            return hint
        if not masked:
            return format_html("{} {}", gettext("None stored."), hint)
        return gettext(
            "Stored: %(masked)s. Leave empty to keep it; type the whole number to replace it."
        ) % {"masked": masked}

    def clean(self):
        cleaned = super().clean()
        resident = self.instance
        id_type = cleaned.get("id_type")
        if (
            resident.pk
            and resident.id_last4
            and id_type
            and id_type != resident.id_type
            and not cleaned.get("id_number")
        ):
            self.add_error(
                "id_number", _("Type the document number again when you change its type.")
            )
        return cleaned

    def call_service(self) -> Resident:
        data = self.cleaned_data
        changes = {name: data[name] for name in self.SERVICE_FIELDS if name in self.fields}
        tags = list(data["care_tags"]) if "care_tags" in self.fields else None
        id_number = data.get("id_number", "")
        phone = data.get("phone", "")
        if self.instance.pk is None:
            changes.pop("moved_out", None)
            # Fresh rows each time: a dry run must not leave changes on shared objects.
            household = Household.objects.get(pk=data["household"].pk)
            return resident_create(
                household=household,
                id_type=data.get("id_type") or IdType.RESIDENT_ID,
                id_number=id_number,
                phone=phone,
                care_tags=tags or (),
                by=self.acting_user,
                **changes,
            )
        resident = Resident.objects.get(pk=self.instance.pk)
        return resident_update(
            resident=resident,
            by=self.acting_user,
            id_type=data.get("id_type") if id_number else None,
            id_number=id_number or None,
            phone=phone or None,
            care_tags=tags,
            **changes,
        )


class HouseholdAdminForm(ServiceModelForm):
    class Meta:
        model = Household
        fields = ("dwelling", "head", "tenure", "moved_in", "notes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "head" in self.fields:
            # The head is one of the household's members (already scoped by the admin).
            field = self.fields["head"]
            field.queryset = field.queryset.filter(household_id=self.instance.pk or 0)
            field.help_text = _("One of the members listed below.")

    def call_service(self) -> Household:
        data = self.cleaned_data
        if self.instance.pk is None:
            return household_create(
                dwelling=data["dwelling"],
                tenure=data["tenure"],
                moved_in=data.get("moved_in"),
                notes=data.get("notes", ""),
                by=self.acting_user,
            )
        household = Household.objects.get(pk=self.instance.pk)
        changes = {name: data[name] for name in ("tenure", "moved_in", "notes") if name in data}
        household = household_update(household=household, by=self.acting_user, **changes)
        head = data.get("head")
        if head is not None and head.pk != household.head_id:
            resident = Resident.objects.get(pk=head.pk)
            household = household_set_head(household=household, resident=resident)
        return household
