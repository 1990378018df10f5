"""户: the cadre's households in the back office, with their members (read-only rows).

Moving a household is ``residents.services.household_move``, not a form field: the
dwelling is fixed once the household is created.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from buildings.selectors import building_number_q
from core.admin_forms import ServiceFormAdminMixin
from core.admin_history import ScopedHistoryAdmin
from core.admin_lists import BoundedChangeListMixin
from core.admin_scoping import ScopedTabularInline

from ..models import Household, Resident
from ..search import query_without_id_numbers, resident_search_q, whole_id_number
from ..selectors.registry import current_member_count
from .filters import REGISTRY_PLACES, MovedOutFilter
from .forms import HouseholdAdminForm
from .residents import ResidentDisplayMixin


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
class HouseholdAdmin(BoundedChangeListMixin, ServiceFormAdminMixin, ScopedHistoryAdmin):
    """户: the cadre's household list, form, members and history (moves: household_move).

    The list is bounded like the residents' (core/admin_lists.py)."""

    scoped_actions = ("view", "add", "change")
    form = HouseholdAdminForm
    list_display = ("home", "head", "tenure", "member_count", "moved_in", "moved_out")
    list_display_links = ("home",)
    list_select_related = ("dwelling__building__estate", "head")
    list_filter = (*REGISTRY_PLACES.filters, "tenure", MovedOutFilter)
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

    class Media:
        css = {"all": ("residents/admin/registry.css",)}

    def safely_get_queryset(self, request):
        return super().safely_get_queryset(request).annotate(member_total=current_member_count())

    def changelist_view(self, request, extra_context=None):
        swapped = query_without_id_numbers(request.GET)
        if swapped is not None:  # a whole ID number leaves the URL (residents.search)
            return HttpResponseRedirect(f"{request.path}?{swapped.urlencode()}")
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        """A household by its dwelling or by a member (the residents' one-box search).

        A whole ID number is searched from the changelist's search box, which posts it
        (``registry:search``) and comes back with its opaque token. A raw whole number
        arrives here only from a URL - the resident form's household autocomplete sends
        its ``?term=`` by GET - and finds nothing: no page is built around a URL carrying
        the number (the last 4 digits still find the household).
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        if whole_id_number(term):
            return queryset.none(), False
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

    def get_fields(self, request, obj=None):
        return self.change_fields if obj is not None else self.add_fields

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is None or self.showing_history_version(request):
            return fields
        return (*fields, "dwelling", "moved_out", "add_member", "created_at", "updated_at")

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # nothing destructive in bulk
        return actions
