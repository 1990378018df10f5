"""The cadre's registry in the back office: residents, households and care tags."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from buildings.models import Building
from buildings.permissions import MANAGE
from buildings.selectors import building_number_q
from core.admin_history import ScopedHistoryAdmin
from core.admin_scoping import ScopedTabularInline
from core.scoping import scope_for

from . import admin_views
from .models import CareTag, Household, IdType, Resident
from .permissions import may_see_full_identity
from .search import resident_search_q
from .selectors.registry import AGE_BANDS, age_band_q, current_member_count
from .services import (
    household_create,
    household_set_head,
    household_update,
    resident_create,
    resident_mark_moved_out,
    resident_update,
)

# =========================================================================================
# The registry: the cadre's residents and households (issue 4)
# =========================================================================================
#
# Scoped like every place-bound admin (core/admin_scoping.py): a cadre sees their own
# neighbourhood's households and residents, and another neighbourhood's are a 404 in
# every view (change, history, delete, the identity reveal). Writes go through
# ``residents.services`` - the forms run the service inside a savepoint while
# validating (rolled back), so that its rules (GB 11643, duplicates) show as form
# errors, then the admin calls it for real when saving. Change history comes from
# django-simple-history (core/admin_history.py). Full ID and phone numbers never
# appear in a form or a list: they are shown once, on a POST to the reveal view,
# which writes an audit record (residents/admin_views.py).


def _adopt(obj, saved) -> None:
    """Make the admin's form instance the row a service saved (log entry, redirect)."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db
    getattr(obj, "_prefetched_objects_cache", {}).clear()


# --- forms that save through the services ---------------------------------------------


class _DryRun(Exception):
    """Raised inside a savepoint to roll back a service call made only to validate."""


class ServiceModelForm(forms.ModelForm):
    """A ModelForm whose saving is a service call (``call_service``).

    Validation ends with that call inside a savepoint that is always rolled back, so
    the service's own rules show as form errors and nothing is written by validating;
    the admin then calls ``call_service`` again, for real, in ``save_model``.
    """

    #: who is acting (set by the admin's get_form)
    acting_user = None

    def call_service(self):
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            with transaction.atomic():
                self.call_service()
                raise _DryRun
        except _DryRun:
            pass
        except ValidationError as exc:
            self.add_service_errors(exc)

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for field, errors in exc.error_dict.items():
            self.add_error(field if field in self.fields else None, errors)


class ResidentAdminForm(ServiceModelForm):
    """Identifiers are typed in plain fields that are never filled with the stored value."""

    #: fields passed to resident_create / resident_update as they are
    SERVICE_FIELDS = (
        "name",
        "gender",
        "birth_date",
        "relation",
        "residence_status",
        "nationality",
        "lives_alone",
        "moved_in",
        "moved_out",
        "notes",
    )

    id_number = forms.CharField(
        label=_("ID number"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("phone"),
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


# --- list filters --------------------------------------------------------------------------


class ScopedBuildingFilter(admin.RelatedOnlyFieldListFilter):
    """Buildings found in the scoped rows, named with their estate in one query."""

    def field_choices(self, field, request, model_admin):
        ids = (
            model_admin.get_queryset(request)
            .distinct()
            .values_list(f"{self.field_path}__pk", flat=True)
        )
        buildings = (
            Building.objects.filter(pk__in=ids)
            .select_related("estate")
            .order_by("estate__name", "number")
        )
        return [(building.pk, str(building)) for building in buildings]


class AgeBandFilter(admin.SimpleListFilter):
    title = _("age")
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label, _low, _high in AGE_BANDS]

    def queryset(self, request, queryset):
        for value, _label, low, high in AGE_BANDS:
            if self.value() == value:
                return queryset.filter(age_band_q(low, high, timezone.localdate()))
        return queryset


class MovedOutFilter(admin.SimpleListFilter):
    title = _("moved out")
    parameter_name = "moved_out"

    def lookups(self, request, model_admin):
        return [("no", _("No (living here)")), ("yes", _("Yes"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(moved_out__isnull=True)
        if self.value() == "yes":
            return queryset.filter(moved_out__isnull=False)
        return queryset


# --- residents -------------------------------------------------------------------------------


class ResidentDisplayMixin:
    """Columns shared by the resident list and a household's member rows: masked only."""

    @admin.display(description=_("age"), ordering="-birth_date")
    def age_display(self, obj):
        age = obj.age()
        return "-" if age is None else age

    @admin.display(description=_("ID number"))
    def masked_id_display(self, obj):
        return obj.masked_id or "-"

    @admin.display(description=_("phone"))
    def masked_phone_display(self, obj):
        return obj.masked_phone or "-"


@admin.register(Resident)
class ResidentAdmin(ResidentDisplayMixin, ScopedHistoryAdmin):
    """居民: the cadre's resident list, form, bulk actions, history and identity reveal."""

    scoped_actions = ("view", "add", "change")  # a person is moved out or anonymised
    form = ResidentAdminForm
    list_display = (
        "name",
        "gender",
        "age_display",
        "masked_id_display",
        "masked_phone_display",
        "home",
        "residence_status",
        "tag_list",
        "moved_out",
    )
    list_select_related = ("dwelling__building__estate",)
    list_filter = (
        "estate",
        ("building", ScopedBuildingFilter),
        "care_tags",
        AgeBandFilter,
        "residence_status",
        "gender",
        MovedOutFilter,
        "lives_alone",
    )
    # The search box shows when search_fields is set; get_search_results does the search.
    search_fields = ("name",)
    search_help_text = _(
        "Search by name (张三, zhangsan or zs), the last 4 digits of a phone or ID "
        "number, or a whole ID number."
    )
    autocomplete_fields = ("household",)
    actions = ("add_care_tags", "mark_moved_out")
    add_fieldsets = (
        (None, {"fields": ("household", "name", "relation")}),
        (
            _("Identity"),
            {"fields": ("id_type", "id_number", "phone", ("gender", "birth_date"), "nationality")},
        ),
        (
            _("Residence and care"),
            {"fields": ("residence_status", "moved_in", "lives_alone", "care_tags", "notes")},
        ),
    )
    change_fieldsets = (
        (None, {"fields": ("household", "name", "relation")}),
        (
            _("Identity"),
            {"fields": ("id_type", "id_number", "phone", ("gender", "birth_date"), "nationality")},
        ),
        (
            _("Residence and care"),
            {
                "fields": (
                    "residence_status",
                    ("moved_in", "moved_out"),
                    "lives_alone",
                    "care_tags",
                    "notes",
                )
            },
        ),
        (_("Record"), {"fields": ("user", "anonymised_at", ("created_at", "updated_at"))}),
    )
    # History: who changed what, when. Non-editable fields (hashes, encrypted tokens)
    # are left out of the changes; identifiers show by their last 4 characters.
    history_hidden_fields = ("building", "estate", "neighbourhood")
    history_extra_fields = ("id_last4", "phone_last4")
    history_field_labels = {
        "id_last4": _("ID number (last 4 characters)"),
        "phone_last4": _("phone (last 4 digits)"),
    }
    history_select_related = (
        "household__dwelling__building__estate",
        "dwelling__building__estate",
    )
    history_version_fields = (
        "household",
        "name",
        "relation",
        "id_type",
        "masked_id_display",
        "masked_phone_display",
        "gender",
        "birth_date",
        "nationality",
        "residence_status",
        "moved_in",
        "moved_out",
        "lives_alone",
        "notes",
    )

    class Media:
        css = {"all": ("residents/admin/registry.css",)}

    # --- list --------------------------------------------------------------------------

    def safely_get_queryset(self, request):
        return super().safely_get_queryset(request).prefetch_related("care_tags")

    def get_search_results(self, request, queryset, search_term):
        # One box (residents.search): characters, pinyin, initials, phone or ID suffix,
        # a whole ID number by its keyed hash. ``queryset`` is already scoped.
        return queryset.filter(resident_search_q(search_term)), False

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        try:  # the Excel pages (residents/urls_imports.py)
            import_url, export_url = reverse("registry:import"), reverse("registry:export")
        except NoReverseMatch:
            pass
        else:
            # "Export this list": the export page takes the same filter parameters.
            query = request.GET.copy()
            for key in ("o", "p", "_changelist_filters"):
                query.pop(key, None)
            extra_context["import_url"] = import_url
            extra_context["export_url"] = (
                f"{export_url}?{query.urlencode()}" if query else export_url
            )
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("household"), ordering="dwelling")
    def home(self, obj):
        url = reverse(
            "admin:residents_household_change",
            args=[obj.household_id],
            current_app=self.admin_site.name,
        )
        return format_html('<a href="{}">{}</a>', url, obj.dwelling)

    @admin.display(description=_("care tags"))
    def tag_list(self, obj):
        return ", ".join(tag.name for tag in obj.care_tags.all()) or "-"

    # --- form ----------------------------------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"acting_user": request.user})

    def get_fieldsets(self, request, obj=None):
        if self.showing_history_version(request):
            return super().get_fieldsets(request, obj)
        return self.change_fieldsets if obj is not None else self.add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is None or self.showing_history_version(request):
            return fields
        fields += ("household", "user", "anonymised_at", "created_at", "updated_at")
        if obj.id_type == IdType.RESIDENT_ID and obj.id_last4:
            fields += ("gender", "birth_date")  # read from the ID number
        return fields

    def save_model(self, request, obj, form, change):
        _adopt(obj, form.call_service())

    def save_related(self, request, form, formsets, change):
        # Care tags were set by the service; only formsets (none here) remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        self.ensure_in_scope(request, form.instance)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if may_see_full_identity(request.user):
            extra_context["reveal_url"] = reverse(
                "admin:residents_resident_reveal_identity",
                args=[object_id],
                current_app=self.admin_site.name,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    # --- the identity reveal (POST only, audited) ----------------------------------------

    def get_urls(self):
        reveal = path(
            "<path:object_id>/reveal-identity/",
            self.admin_site.admin_view(self.reveal_identity_view),
            name="residents_resident_reveal_identity",
        )
        return [reveal, *super().get_urls()]

    def reveal_identity_view(self, request, object_id):
        return admin_views.reveal_identity(request, object_id, model_admin=self)

    # --- bulk actions (only ever on the scoped, selected rows) ------------------------------

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # people are moved out, not deleted
        return actions

    @admin.action(description=_("Add care tags to the selected residents"), permissions=["change"])
    def add_care_tags(self, request, queryset):
        return admin_views.add_care_tags(request, queryset, model_admin=self)

    @admin.action(
        description=_("Mark the selected residents as moved out today"), permissions=["change"]
    )
    def mark_moved_out(self, request, queryset):
        today = timezone.localdate()
        moved, refused = 0, []
        residents = queryset.filter(moved_out__isnull=True).prefetch_related(None).order_by("pk")
        for resident in residents:
            try:
                resident_mark_moved_out(resident=resident, moved_out=today, by=request.user)
            except ValidationError:
                refused.append(resident.name)
            else:
                moved += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d resident marked as moved out.",
                "%(count)d residents marked as moved out.",
                moved,
            )
            % {"count": moved},
            messages.SUCCESS,
        )
        if refused:
            self.message_user(
                request,
                gettext("Not moved out (their moving-in date is later than today): %(names)s")
                % {"names": ", ".join(refused)},
                messages.WARNING,
            )


# --- households --------------------------------------------------------------------------------


def _dwelling_search_q(term: str) -> Q:
    """Every word names the dwelling: a building number (12号楼), a room or the estate."""
    condition = Q()
    for word in term.split():
        number = building_number_q(word, field="building__number", bare_digits=False)
        if number is None:
            number = Q(dwelling__room__iexact=word) | Q(estate__name__contains=word)
        condition &= number
    return condition


class MemberInline(ResidentDisplayMixin, ScopedTabularInline):
    """A household's members: read-only summary rows (masked), each linking to its page."""

    model = Resident
    fk_name = "household"
    verbose_name = _("member")
    verbose_name_plural = _("members")
    fields = (
        "name",
        "relation",
        "gender",
        "age_display",
        "masked_id_display",
        "masked_phone_display",
        "residence_status",
        "moved_out",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Household)
class HouseholdAdmin(ScopedHistoryAdmin):
    """户: the cadre's household list, form, members and history (moves: household_move)."""

    scoped_actions = ("view", "add", "change")
    form = HouseholdAdminForm
    list_display = ("home", "head", "tenure", "member_count", "moved_in", "moved_out")
    list_display_links = ("home",)
    list_select_related = ("dwelling__building__estate", "head")
    list_filter = ("estate", ("building", ScopedBuildingFilter), "tenure", MovedOutFilter)
    search_fields = ("dwelling__room",)  # the box; get_search_results does the search
    search_help_text = _(
        "Search by building and room (12号楼 1203), or by a member: name, pinyin, "
        "initials, the last 4 digits of a phone or ID number."
    )
    autocomplete_fields = ("dwelling",)
    inlines = (MemberInline,)
    add_fields = ("dwelling", "tenure", "moved_in", "notes")
    change_fields = (
        "dwelling",
        "head",
        "tenure",
        ("moved_in", "moved_out"),
        "notes",
        "add_member",
        ("created_at", "updated_at"),
    )
    history_hidden_fields = ("building", "estate", "neighbourhood")
    history_select_related = ("dwelling__building__estate", "head")
    history_version_fields = ("dwelling", "head", "tenure", "moved_in", "moved_out", "notes")

    def safely_get_queryset(self, request):
        return super().safely_get_queryset(request).annotate(member_total=current_member_count())

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # A member matching the one-box search: a correlated subquery, so no duplicates.
        members = Resident.objects.filter(resident_search_q(term), household_id=OuterRef("pk"))
        return queryset.filter(Exists(members) | _dwelling_search_q(term)), False

    @admin.display(description=_("dwelling"), ordering="dwelling")
    def home(self, obj):
        return str(obj.dwelling)

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, obj):
        return obj.member_total

    @admin.display(description=_("add a member"))
    def add_member(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:residents_resident_add", current_app=self.admin_site.name)
        return format_html('<a href="{}?household={}">{}</a>', url, obj.pk, _("Add a resident"))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"acting_user": request.user})

    def get_fields(self, request, obj=None):
        return self.change_fields if obj is not None else self.add_fields

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is None or self.showing_history_version(request):
            return fields
        return (*fields, "dwelling", "moved_out", "add_member", "created_at", "updated_at")

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def save_model(self, request, obj, form, change):
        _adopt(obj, form.call_service())

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        self.ensure_in_scope(request, form.instance)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # nothing destructive in bulk
        return actions


# --- care tags -----------------------------------------------------------------------------------


@admin.register(CareTag)
class CareTagAdmin(admin.ModelAdmin):
    """The configurable list of care tags: superusers (or holders of the model
    permissions) manage it; a cadre may look at it."""

    list_display = ("name", "code", "description", "sort_order", "active")
    list_filter = ("active",)
    search_fields = ("name", "code")
    ordering = ("sort_order", "name")

    def _manages(self, request, action: str) -> bool:
        user = request.user
        return bool(
            user.is_authenticated
            and user.is_active
            and (user.is_superuser or user.has_perm(f"residents.{action}_caretag"))
        )

    def _is_cadre(self, request) -> bool:
        user = request.user
        return (
            bool(user.is_authenticated and user.is_active) and not scope_for(user, MANAGE).is_empty
        )

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._manages(request, "view") or self._is_cadre(request)

    def has_add_permission(self, request):
        return self._manages(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._manages(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._manages(request, "delete")
