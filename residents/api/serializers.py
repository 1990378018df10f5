"""Serializers of the registry endpoints.

Output (``ResidentSerializer``, ``HouseholdSerializer``) is masked: the ID or
passport number and the phone only as ``310***********1234`` / ``139****5678``.
Full identifiers never leave through the API (revealing them is an audited
action of a signed-in cadre with the permission, in the back office). Cadres'
free-text notes are not exposed either.

Input serializers check shapes only; the rules (valid ID numbers, duplicates,
the head of household being a member …) are the services' and come back in the
API's error shape. Parent objects (household, dwelling, head) are looked up in
the caller's scope, so one outside it is "does not exist", like a missing one.
"""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from buildings.models import Dwelling
from buildings.permissions import MANAGE
from core.scoping import scope_for

from ..models import (
    CareTag,
    Gender,
    Household,
    IdType,
    Relation,
    ResidenceStatus,
    Resident,
    Tenure,
)


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key looked up among the rows the caller may manage (current ones only)."""

    def __init__(self, *, model, current_only=True, **kwargs):
        self.model = model
        self.current_only = current_only
        super().__init__(queryset=model.objects.all(), **kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        queryset = self.model.objects.all()
        if self.current_only:
            queryset = queryset.filter(moved_out__isnull=True)
        return scope_for(getattr(request, "user", None), MANAGE).filter(queryset)


def _place_label(obj) -> str:
    return f"{obj.estate.name} {obj.building.number} {obj.dwelling.room}"


# --- residents -----------------------------------------------------------------------


class ResidentSerializer(serializers.ModelSerializer):
    id_number_masked = serializers.CharField(
        source="masked_id", read_only=True, help_text="Masked ID or passport number."
    )
    phone_masked = serializers.CharField(
        source="masked_phone", read_only=True, help_text="Masked phone number."
    )
    gender = serializers.ChoiceField(
        choices=Gender.choices, allow_blank=True, read_only=True, help_text="Empty if unknown."
    )
    age = serializers.SerializerMethodField(help_text="Whole years today (null if unknown).")
    address = serializers.SerializerMethodField(help_text="Estate, building and room.")
    care_tags = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="code", help_text="Care tag codes."
    )
    anonymised = serializers.SerializerMethodField()

    class Meta:
        model = Resident
        fields = [
            "id",
            "name",
            "gender",
            "birth_date",
            "age",
            "id_type",
            "id_number_masked",
            "phone_masked",
            "relation",
            "residence_status",
            "nationality",
            "care_tags",
            "lives_alone",
            "moved_in",
            "moved_out",
            "anonymised",
            "household",
            "dwelling",
            "building",
            "estate",
            "neighbourhood",
            "address",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_age(self, obj) -> int | None:
        today = self.context.setdefault("today", timezone.localdate())
        return obj.age(today)

    def get_address(self, obj) -> str:
        return _place_label(obj)

    def get_anonymised(self, obj) -> bool:
        return obj.anonymised_at is not None


class ResidentFieldsMixin(serializers.Serializer):
    """What a caller may set on a resident (both create and update)."""

    name = serializers.CharField(max_length=50)
    id_type = serializers.ChoiceField(choices=IdType.choices, required=False)
    id_number = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=30,
        help_text="ID card (18 characters, GB 11643) or passport number; stored encrypted.",
    )
    phone = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=30)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    relation = serializers.ChoiceField(choices=Relation.choices, required=False)
    residence_status = serializers.ChoiceField(choices=ResidenceStatus.choices, required=False)
    nationality = serializers.CharField(
        required=False, min_length=2, max_length=2, help_text="ISO 3166 code, e.g. CN."
    )
    care_tags = serializers.SlugRelatedField(
        many=True,
        required=False,
        slug_field="code",
        queryset=CareTag.objects.filter(active=True),
        help_text="Care tag codes.",
    )
    lives_alone = serializers.BooleanField(required=False)
    moved_in = serializers.DateField(required=False, allow_null=True)


class ResidentCreateSerializer(ResidentFieldsMixin):
    household = ScopedPrimaryKeyRelatedField(
        model=Household, help_text="A current household the caller manages."
    )


class ResidentUpdateSerializer(ResidentFieldsMixin):
    moved_out = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs):
        if "id_type" in attrs and "id_number" not in attrs:
            raise serializers.ValidationError(
                {"id_number": [_("Send the document number with its type.")]}
            )
        return attrs


# --- households ----------------------------------------------------------------------


class HouseholdSerializer(serializers.ModelSerializer):
    address = serializers.SerializerMethodField(help_text="Estate, building and room.")
    head_name = serializers.SerializerMethodField(help_text="Null while the household has no head.")
    member_count = serializers.IntegerField(
        read_only=True, help_text="Members who have not moved out."
    )

    class Meta:
        model = Household
        fields = [
            "id",
            "dwelling",
            "building",
            "estate",
            "neighbourhood",
            "address",
            "tenure",
            "head",
            "head_name",
            "member_count",
            "moved_in",
            "moved_out",
            "updated_at",
        ]
        read_only_fields = fields

    def get_address(self, obj) -> str:
        return _place_label(obj)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_head_name(self, obj) -> str | None:
        return obj.head.name if obj.head_id else None


class HouseholdCreateSerializer(serializers.Serializer):
    dwelling = ScopedPrimaryKeyRelatedField(
        model=Dwelling, current_only=False, help_text="A dwelling the caller manages."
    )
    tenure = serializers.ChoiceField(choices=Tenure.choices, required=False)
    moved_in = serializers.DateField(required=False, allow_null=True)


class HouseholdUpdateSerializer(serializers.Serializer):
    tenure = serializers.ChoiceField(choices=Tenure.choices, required=False)
    moved_in = serializers.DateField(required=False, allow_null=True)
    head = ScopedPrimaryKeyRelatedField(
        model=Resident, required=False, help_text="A current member of this household."
    )


# --- door-access events --------------------------------------------------------------


class AccessEventInputSerializer(serializers.Serializer):
    resident_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    dwelling_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    occurred_at = serializers.DateTimeField(
        help_text="When the door opened (ISO 8601 with offset): from 2000 on, at most 5 "
        "minutes ahead."
    )
    device = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    source = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")

    def validate(self, attrs):
        if attrs.get("resident_id") is None and attrs.get("dwelling_id") is None:
            raise serializers.ValidationError(
                {"resident_id": [_("Name a resident_id or a dwelling_id.")]}
            )
        return attrs


class AccessEventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resident_id = serializers.IntegerField(allow_null=True)
    dwelling_id = serializers.IntegerField(allow_null=True)
    occurred_at = serializers.DateTimeField()


class AccessEventResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Events stored.")
    events = AccessEventOutputSerializer(many=True)
