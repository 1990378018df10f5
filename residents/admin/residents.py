"""居民: the cadre's residents in the back office - list, form, bulk actions, history and
the audited identity reveal (``.views``). Full ID and phone numbers never appear in a
form or a list, only masked.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.admin_forms import ServiceFormAdminMixin
from core.admin_history import ScopedHistoryAdmin
from core.admin_lists import BoundedChangeListMixin

from ..models import IdType, Resident
from ..permissions import may_see_full_identity
from ..search import query_without_id_numbers, resident_search_q, whole_id_number
from ..services import resident_mark_moved_out
from . import views
from .filters import REGISTRY_PLACES, AgeBandFilter, CareTagFilter, MovedOutFilter
from .forms import ResidentAdminForm


class ResidentDisplayMixin:
    """Columns shared by the resident list and a household's member rows: masked only."""

    @admin.display(description=_("age"), ordering="-birth_date")
    def age_display(self, obj):
        age = obj.age()
        return "-" if age is None else age

    @admin.display(description=_("ID number"))
    def masked_id_display(self, obj):
        return obj.masked_id or "-"

    @admin.display(description=pgettext_lazy("person", "phone"))
    def masked_phone_display(self, obj):
        return obj.masked_phone or "-"


@admin.register(Resident)
class ResidentAdmin(
    BoundedChangeListMixin, ResidentDisplayMixin, ServiceFormAdminMixin, ScopedHistoryAdmin
):
    """居民: the cadre's resident list, form, bulk actions, history and identity reveal.

    The list costs the same for a district as for a neighbourhood: a bounded count and
    bounded filters (core/admin_lists.py).
    """

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
        *REGISTRY_PLACES.filters,
        CareTagFilter,
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
        """One box (residents.search): characters, pinyin, initials, phone or ID suffix,
        a whole ID number by its search token. ``queryset`` is already scoped.

        A whole ID number is searched from the changelist's search box, which posts it
        (``registry:search``) and comes back with its opaque token. A raw whole number
        arrives here only from a URL - the autocomplete's ``?term=`` (a GET) - and finds
        nothing: no page is built around a URL carrying the number.
        """
        if whole_id_number(search_term):
            return queryset.none(), False
        return queryset.filter(resident_search_q(search_term)), False

    def changelist_view(self, request, extra_context=None):
        swapped = query_without_id_numbers(request.GET)
        if swapped is not None:  # a whole ID number leaves the URL (residents.search)
            return HttpResponseRedirect(f"{request.path}?{swapped.urlencode()}")
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

    # --- form (saved through the services: core/admin_forms.py) -----------------------

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
        return views.reveal_identity(request, object_id, model_admin=self)

    # --- bulk actions (only ever on the scoped, selected rows) ------------------------------

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # people are moved out, not deleted
        return actions

    @admin.action(description=_("Add care tags to the selected residents"), permissions=["change"])
    def add_care_tags(self, request, queryset):
        return views.add_care_tags(request, queryset, model_admin=self)

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
