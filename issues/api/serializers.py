"""Serializers of the report endpoints (/api/v1/reports/, /api/v1/issue-categories/).

``IssueListSerializer`` is made of plain columns and annotations only, so the list takes
the fast path of ``core.api.lists`` (a page of ``.values()`` rows): the category's and
the handler's names are annotations of the viewset's queryset (joins, for the page's
rows only), in the request's language.

``IssueDetailSerializer`` adds the attributes, the photos, the timeline and, for
handlers only (signed-in handlers, and API keys with ``issues:write``), the contact
fields and the internal steps. Input serializers check shapes only: the rules
(attributes, transitions, the photo limit) are ``issues.services``' and come back in the
API's error shape.
"""

from django.db.models import BooleanField, Case, CharField, ExpressionWrapper, F, Q, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import (
    OPEN_STATUSES,
    Category,
    CategoryAttribute,
    EventKind,
    HandlerLevel,
    Issue,
    IssueEvent,
    IssuePhoto,
    Status,
)

# --- annotations of the list -------------------------------------------------------------


def _picked(field: str):
    """``category.<field>_zh`` or ``_en`` by the request's language, the other as fallback
    (what ``Category.name`` does, as SQL)."""
    english = (get_language() or "zh-hans").startswith("en")
    first, second = ("en", "zh") if english else ("zh", "en")
    return Coalesce(
        NullIf(F(f"category__{field}_{first}"), Value("")),
        F(f"category__{field}_{second}"),
        output_field=CharField(),
    )


def _handler_name():
    """``Issue.handler_label`` as SQL: the property company, the department, or the
    neighbourhood's committee (the model's own translated label)."""
    prefix, _sep, suffix = (_("%(name)s committee") % {"name": "\x00"}).partition("\x00")
    return Case(
        When(
            handler_level=HandlerLevel.PROPERTY,
            property_company__isnull=False,
            then=F("property_company__name"),
        ),
        When(
            handler_level=HandlerLevel.DEPARTMENT,
            department__isnull=False,
            then=F("department__name"),
        ),
        When(handler_level=HandlerLevel.DEPARTMENT, then=Value(str(HandlerLevel.DEPARTMENT.label))),
        default=Concat(Value(prefix), F("neighbourhood__name"), Value(suffix)),
        output_field=CharField(),
    )


def list_annotations(now=None) -> dict:
    """The annotations ``IssueListSerializer`` reads (evaluated for the page's rows)."""
    now = now or timezone.now()
    return {
        "category_name": _picked("name"),
        "handler_name": _handler_name(),
        "overdue": ExpressionWrapper(
            Q(status__in=OPEN_STATUSES, due_at__lt=now), output_field=BooleanField()
        ),
    }


def inline_choice_field(choices):
    """A read-only ChoiceField whose enum stays inline in the schema.

    The report's ``status`` shares its name with other components' choice sets, and
    ``handler_level`` its choices with the board's ``level``; drf-spectacular's enum
    extraction would name them with a hash and warn (the schema check fails on warnings).
    Wrapped in ``allOf``, the enum is documented where it is used.
    """

    enum = {"type": "string", "enum": [value for value, _label in choices]}

    @extend_schema_field({"allOf": [enum]})
    class InlineChoiceField(serializers.ChoiceField):
        pass

    return InlineChoiceField(choices=choices, read_only=True)


# --- reports -----------------------------------------------------------------------------


class IssueListSerializer(serializers.ModelSerializer):
    category = serializers.CharField(
        source="category.code", read_only=True, help_text="The category's code."
    )
    category_name = serializers.CharField(read_only=True, help_text="In the request's language.")
    handler_name = serializers.CharField(
        read_only=True,
        help_text="Who holds the report: a property company, a committee, a department.",
    )
    overdue = serializers.BooleanField(
        read_only=True, help_text="Open and past its current deadline (`due_at`)."
    )
    status = inline_choice_field(Status.choices)
    handler_level = inline_choice_field(HandlerLevel.choices)

    class Meta:
        model = Issue
        fields = [
            "id",
            "status",
            "category",
            "category_name",
            "description",
            "address",
            "latitude",
            "longitude",
            "district",
            "subdistrict",
            "neighbourhood",
            "estate",
            "building",
            "source",
            "external_id",
            "handler_level",
            "handler_name",
            "due_at",
            "overdue",
            "upvote_count",
            "created_at",
            "updated_at",
            "activity_at",
        ]
        read_only_fields = fields


class PhotoSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField(help_text="URL of the image.")
    thumbnail = serializers.SerializerMethodField(help_text="URL of the thumbnail.")

    class Meta:
        model = IssuePhoto
        fields = ["id", "image", "thumbnail", "width", "height", "created_at"]
        read_only_fields = fields

    def _url(self, file) -> str:
        url = file.url
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    def get_image(self, obj) -> str:
        return self._url(obj.image)

    def get_thumbnail(self, obj) -> str:
        return self._url(obj.thumbnail)


class EventSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=EventKind.choices, read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    photos = PhotoSerializer(many=True, read_only=True)

    class Meta:
        model = IssueEvent
        fields = [
            "id",
            "kind",
            "kind_label",
            "public",
            "actor_label",
            "text",
            "created_at",
            "photos",
        ]
        read_only_fields = fields


class ContactSerializer(serializers.Serializer):
    name = serializers.CharField(source="contact_name")
    phone = serializers.CharField(source="contact_phone")
    email = serializers.CharField(source="contact_email")


class IssueDetailSerializer(serializers.ModelSerializer):
    """One report. ``context["handler"]``: whether the caller is a handler (contact fields
    and internal steps); ``context["timeline"]``: the steps to show."""

    category = serializers.CharField(source="category.code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    status = inline_choice_field(Status.choices)
    handler_level = inline_choice_field(HandlerLevel.choices)
    handler_name = serializers.CharField(source="handler_label", read_only=True)
    overdue = serializers.SerializerMethodField()
    attributes = serializers.DictField(read_only=True, help_text="Attribute code -> value.")
    photos = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    contact = serializers.SerializerMethodField(
        help_text="The reporter's contact details: for handlers (signed-in staff, API keys "
        "with issues:write) only, else null."
    )

    class Meta:
        model = Issue
        fields = [
            *IssueListSerializer.Meta.fields,
            "attributes",
            "escalations",
            "acknowledge_due",
            "resolve_due",
            "committed_due",
            "acknowledged_at",
            "committed_at",
            "resolved_at",
            "closed_at",
            "resolution_note",
            "rating",
            "rating_comment",
            "reopen_count",
            "reason",
            "merged_into",
            "follower_count",
            "photos",
            "timeline",
            "contact",
        ]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        return bool(obj.is_open and obj.due_at is not None and obj.due_at < timezone.now())

    @extend_schema_field(PhotoSerializer(many=True))
    def get_photos(self, obj):
        photos = [photo for photo in obj.photos.all() if photo.event_id is None]
        return PhotoSerializer(photos, many=True, context=self.context).data

    @extend_schema_field(EventSerializer(many=True))
    def get_timeline(self, obj):
        events = self.context.get("timeline", [])
        return EventSerializer(events, many=True, context=self.context).data

    @extend_schema_field(ContactSerializer(allow_null=True))
    def get_contact(self, obj):
        if not self.context.get("handler"):
            return None
        return ContactSerializer(obj).data


class PlaceFields(serializers.Serializer):
    building = serializers.IntegerField(required=False, min_value=1, help_text="A building id.")
    estate = serializers.IntegerField(required=False, min_value=1, help_text="An estate id.")
    neighbourhood = serializers.IntegerField(
        required=False, min_value=1, help_text="A neighbourhood id (with `address`)."
    )


class IssueCreateSerializer(PlaceFields):
    """A new report. Its place is a building, an estate, or a neighbourhood and an
    address, inside the caller's jurisdiction."""

    category = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Category.objects.filter(active=True),
        help_text="An active category's code.",
    )
    description = serializers.CharField(max_length=2000)
    attributes = serializers.DictField(
        required=False,
        default=dict,
        help_text="Attribute code -> value, as the category's attributes define them.",
    )
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, min_value=-90, max_value=90
    )
    longitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        required=False,
        allow_null=True,
        min_value=-180,
        max_value=180,
    )
    contact_name = serializers.CharField(
        max_length=50, required=False, allow_blank=True, default=""
    )
    contact_phone = serializers.CharField(
        max_length=30, required=False, allow_blank=True, default=""
    )
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")
    external_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="The caller's own id of the report: unique among reports sent by the API "
        "(a second one is a 409).",
    )

    def validate(self, attrs):
        places = [name for name in ("building", "estate", "neighbourhood") if attrs.get(name)]
        if not places:
            raise serializers.ValidationError(
                {"building": [_("Name a building, an estate or a neighbourhood.")]}
            )
        if places == ["neighbourhood"] and not attrs.get("address", "").strip():
            raise serializers.ValidationError(
                {"address": [_("A report on a neighbourhood needs an address.")]}
            )
        return attrs


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CommitSerializer(NoteSerializer):
    committed_due = serializers.DateField(help_text="The date the handler commits to (承诺制).")


class ProgressSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


class ResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class MergeSerializer(ReasonSerializer):
    into = serializers.IntegerField(min_value=1, help_text="The id of the report it duplicates.")


class ConfirmSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CommentSerializer(serializers.ModelSerializer):
    internal = serializers.SerializerMethodField()

    class Meta:
        model = IssueEvent
        fields = ["id", "kind", "internal", "actor_label", "text", "created_at"]
        read_only_fields = fields

    def get_internal(self, obj) -> bool:
        return not obj.public


class CommentCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)
    internal = serializers.BooleanField(
        required=False, default=False, help_text="An internal note, for handlers only."
    )


class PhotoUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="One JPEG, PNG or WebP image.")


# --- categories --------------------------------------------------------------------------


class AttributeValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


class CategoryAttributeSerializer(serializers.ModelSerializer):
    description = serializers.CharField(read_only=True, help_text="The question, translated.")
    values = serializers.SerializerMethodField()

    class Meta:
        model = CategoryAttribute
        fields = ["code", "datatype", "required", "description", "values", "position"]
        read_only_fields = fields

    @extend_schema_field(AttributeValueSerializer(many=True))
    def get_values(self, obj):
        return [
            {"key": str(value.get("key", "")), "name": obj.value_name(value.get("key"))}
            for value in obj.values or ()
        ]


class CategorySerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    group = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    attributes = CategoryAttributeSerializer(many=True, read_only=True)
    handler_kind = inline_choice_field(HandlerLevel.choices)

    class Meta:
        model = Category
        fields = [
            "id",
            "code",
            "name",
            "group",
            "description",
            "keywords",
            "handler_kind",
            "acknowledge_hours",
            "resolve_hours",
            "attributes",
        ]
        read_only_fields = fields
