"""Reporting a matter (报事): the resident's form and the staff form for a caller.

Photos and validation errors: a browser cannot refill a file input, so when the form
comes back with an error the photos that passed are not asked for again. They are
processed into storage at once (under ``issues/pending/``, through ``core.images``) and
their stored names travel in a signed hidden field (:data:`PENDING_SALT`, tied to the
user, valid :data:`PENDING_MAX_AGE` seconds); the final submit hands them to the service
as files and deletes the pending copies. A photo that failed shows its message next to the
photo field and is the only one asked for again.
"""

from __future__ import annotations

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from buildings.models import Building, Estate
from core.images import ACCEPT, MultipleImageInput, process_image, validate_image

from ..models import AttributeType, Source

MAX_PHOTOS = 9
PENDING_PREFIX = "issues/pending"
PENDING_SALT = "issues.pending-photos"
PENDING_MAX_AGE = 24 * 3600


def neighbourhood_places(neighbourhood_ids):
    """The estates and buildings of some neighbourhoods (the form's place choices)."""
    ids = sorted(neighbourhood_ids)
    return {
        "estates": Estate.objects.filter(neighbourhood_id__in=ids),
        "buildings": Building.objects.filter(estate__neighbourhood_id__in=ids),
    }


def active_categories():
    """The active categories, attributes prefetched."""
    from ..selectors import categories_active

    return list(categories_active())


def attribute_field_name(category_id: int, code: str) -> str:
    return f"attr_{category_id}_{code}"


def _attribute_field(attribute, category) -> forms.Field:
    """A lenient field that renders the attribute; the service checks the value."""
    # the template groups a category's questions under its name (a legend)
    common = {"label": attribute.description, "required": False}
    choices = [(v.get("key"), attribute.value_name(v.get("key"))) for v in attribute.values]
    kind = attribute.datatype
    if kind == AttributeType.TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, **common)
    if kind == AttributeType.NUMBER:
        return forms.CharField(
            widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}), **common
        )
    if kind == AttributeType.DATETIME:
        return forms.CharField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common
        )
    if kind == AttributeType.SINGLE:
        return forms.ChoiceField(choices=[("", "—"), *choices], **common)
    if kind == AttributeType.MULTI:
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    return forms.CharField(max_length=500, **common)


def pending_token(user, names: list[str]) -> str:
    return signing.dumps({"u": user.pk, "n": names}, salt=PENDING_SALT, compress=True)


def pending_names(user, token: str) -> list[str]:
    """The stored names a token carries, or [] when it is forged, stale or someone else's."""
    if not token:
        return []
    try:
        data = signing.loads(token, salt=PENDING_SALT, max_age=PENDING_MAX_AGE)
    except signing.BadSignature:
        return []
    if not isinstance(data, dict) or data.get("u") != user.pk:
        return []
    names = data.get("n") or []
    return [n for n in names if isinstance(n, str) and n.startswith(PENDING_PREFIX + "/")][
        :MAX_PHOTOS
    ]


class _PhotoUploads(forms.FileField):
    """The photo input's files as a list, unchecked: ``IssueForm.clean_photos`` checks each
    on its own, so the good ones can be kept when one is refused."""

    widget = MultipleImageInput(attrs={"accept": ACCEPT})

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [f for f in files if f]


class IssueForm(forms.Form):
    """A resident's report. ``estates`` and ``buildings`` (querysets) are the places it may
    be on; ``user`` signs the pending photos."""

    category = forms.ChoiceField(label=_("What is the matter?"))
    description = forms.CharField(
        label=_("Describe it"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What, where exactly, since when."),
    )
    photos = _PhotoUploads(
        label=_("Add photos"),
        required=False,
        help_text=_("Up to 9 photos (JPEG, PNG or WebP)."),
    )
    pending_photos = forms.CharField(required=False, widget=forms.HiddenInput)
    estate = forms.ModelChoiceField(
        label=_("Estate"), queryset=Estate.objects.none(), required=False
    )
    building = forms.ModelChoiceField(
        label=_("Building"), queryset=Building.objects.none(), required=False
    )
    address = forms.CharField(
        label=_("Or a street address"),
        max_length=200,
        required=False,
        help_text=_("For a place outside the estates: a street, a corner, a shop."),
    )
    latitude = forms.DecimalField(
        label=_("Latitude"),
        max_digits=9,
        decimal_places=6,
        required=False,
        min_value=-90,
        max_value=90,
    )
    longitude = forms.DecimalField(
        label=_("Longitude"),
        max_digits=9,
        decimal_places=6,
        required=False,
        min_value=-180,
        max_value=180,
    )
    reporter_public = forms.BooleanField(
        label=_("Show my name on the report"),
        required=False,
        help_text=_("Otherwise your neighbours see “a resident”; handlers always see it."),
    )

    def __init__(self, *args, user, estates, buildings, default_building=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.categories = {c.pk: c for c in active_categories()}
        groups: dict[str, list] = {}
        for category in self.categories.values():
            groups.setdefault(category.group or "", []).append((category.pk, category.name))
        self.fields["category"].choices = [("", _("Choose…"))] + [
            (group or _("Other"), items) for group, items in groups.items()
        ]
        self.fields["category"].widget.attrs["data-issue-category"] = ""
        self.fields["category"].label_suffix = ""  # "What is the matter?" is a question
        self.attribute_fields: dict[int, list[str]] = {}
        for category in self.categories.values():
            for attribute in category.attributes.all():
                name = attribute_field_name(category.pk, attribute.code)
                field = _attribute_field(attribute, category)
                field.widget.attrs["data-category"] = str(category.pk)
                if str(field.label).rstrip().endswith(("?", "？", ":", "：")):
                    field.label_suffix = ""  # a question needs no "：" after its "？"
                self.fields[name] = field
                self.attribute_fields.setdefault(category.pk, []).append(name)
        self.fields["estate"].queryset = estates.order_by("name")
        self.fields["building"].queryset = buildings.select_related("estate").order_by(
            "estate__name", "number"
        )
        self.fields["building"].label_from_instance = lambda b: f"{b.estate.name} {b.number}"
        self.fields["building"].widget.attrs["data-issue-building"] = ""
        if default_building is not None and not self.is_bound:
            self.initial.setdefault("building", default_building.pk)
            self.initial.setdefault("estate", default_building.estate_id)
        self.kept: list[str] = pending_names(user, self.data.get("pending_photos", ""))
        self.new_uploads: list = []
        self.refused_photos = 0

    # --- grouping for the template ----------------------------------------------------

    def attribute_groups(self):
        """[(category, [bound fields])] for the categories that have attributes."""
        return [
            (self.categories[pk], [self[name] for name in names])
            for pk, names in self.attribute_fields.items()
        ]

    def kept_photos(self):
        return [{"name": n, "url": default_storage.url(n)} for n in self.kept]

    # --- cleaning ---------------------------------------------------------------------

    def clean_category(self):
        try:
            return self.categories[int(self.cleaned_data["category"])]
        except (KeyError, TypeError, ValueError):
            raise ValidationError(_("Choose a category."), code="invalid") from None

    def clean_photos(self):
        uploads = self.cleaned_data.get("photos") or []
        room = MAX_PHOTOS - len(self.kept)
        errors = []
        for upload in uploads:
            try:
                validate_image(upload)
            except ValidationError as error:
                self.refused_photos += 1
                name = getattr(upload, "name", "")[:80]
                errors.extend(f"{name}: {m}" for m in error.messages)
            else:
                self.new_uploads.append(upload)
        if len(self.new_uploads) > room:
            self.new_uploads = self.new_uploads[: max(room, 0)]
            errors.append(
                ngettext("At most %(count)d photo.", "At most %(count)d photos.", MAX_PHOTOS)
                % {"count": MAX_PHOTOS}
            )
        if errors:
            raise ValidationError(errors, code="photos")
        return self.new_uploads

    def clean(self):
        data = super().clean()
        estate, building = data.get("estate"), data.get("building")
        if building is not None:
            if estate is not None and building.estate_id != estate.pk:
                self.add_error("building", _("This building is not in the chosen estate."))
            else:
                data["estate"] = building.estate
        if building is None and estate is None and not data.get("address"):
            self.add_error("building", _("Choose a building or an estate, or give an address."))
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            self.add_error("latitude", _("Give both the latitude and the longitude, or neither."))
        return data

    def raw_attributes(self, category) -> dict:
        """The chosen category's answers as typed (the service validates them)."""
        raw = {}
        for attribute in category.attributes.all():
            name = attribute_field_name(category.pk, attribute.code)
            if attribute.datatype == AttributeType.MULTI:
                value = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            else:
                value = (self.data.get(name) or "").strip()
            if value not in ("", []):
                raw[attribute.code] = value
        return raw

    def attribute_field_map(self, category) -> dict:
        return {
            a.code: attribute_field_name(category.pk, a.code) for a in category.attributes.all()
        }

    # --- photos kept across a failed submit ---------------------------------------------

    def stash_photos(self) -> None:
        """Process the photos that passed into pending storage and sign their names into
        the re-rendered form (called when the form comes back with an error)."""
        for upload in self.new_uploads:
            stored = process_image(upload, prefix=PENDING_PREFIX)
            default_storage.delete(stored.thumbnail_name)
            self.kept.append(stored.name)
        self.new_uploads = []
        self.data = self.data.copy()
        self.data["pending_photos"] = pending_token(self.user, self.kept)

    def photo_files(self) -> list:
        """Every photo to report: the kept ones (opened from storage) and the new ones."""
        return [default_storage.open(n) for n in self.kept] + list(self.new_uploads)

    def forget_kept(self) -> None:
        for name in self.kept:
            default_storage.delete(name)
        self.kept = []


class StaffIssueForm(IssueForm):
    """A report entered by staff for a caller (or a hotline ticket): the same form plus
    who called and how, with the places of the staff scope."""

    source = forms.ChoiceField(
        label=_("Received"),
        choices=[(Source.STAFF, Source.STAFF.label), (Source.HOTLINE, Source.HOTLINE.label)],
        initial=Source.STAFF,
    )
    contact_name = forms.CharField(label=_("Caller's name"), max_length=50, required=False)
    contact_phone = forms.CharField(
        label=_("Caller's phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    neighbourhood = forms.TypedChoiceField(
        label=_("Neighbourhood"),
        coerce=int,
        required=False,
        help_text=_("Needed for a street address; a building or estate says it already."),
    )

    def __init__(self, *args, neighbourhoods=(), **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["reporter_public"]
        self.fields["neighbourhood"].choices = [("", "—")] + [
            (n.pk, n.name) for n in neighbourhoods
        ]
        self.neighbourhoods = {n.pk: n for n in neighbourhoods}

    def clean(self):
        data = super().clean()
        if data.get("building") is None and data.get("estate") is None:
            if data.get("neighbourhood") in self.neighbourhoods:
                data["neighbourhood"] = self.neighbourhoods[data["neighbourhood"]]
            elif "building" not in self.errors:
                self.add_error("neighbourhood", _("Choose the neighbourhood of the address."))
        else:
            data["neighbourhood"] = None
        return data
