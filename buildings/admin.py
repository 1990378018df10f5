"""The cadre's back office for the place tree, elevators and their inspections.

Every class is a ScopedModelAdmin (core/admin_scoping.py): a cadre sees and
edits only the places under their grants; another neighbourhood's object is a
404. Who may do what:

* District, Subdistrict, Area: superusers only (the tree above a committee).
* Neighbourhood: superusers manage the tree; a cadre sees their own
  neighbourhood(s) and may correct the committee's address and phone only.
* PropertyCompany: a cadre sees the companies serving their estates, plus
  companies that serve no estate yet (so that a company just added can be
  assigned to an estate); may add, and change only a company all of whose estates
  are theirs - one that also serves another neighbourhood is read-only to them;
  never delete (a company may serve other neighbourhoods too).
* Estate, Building, Dwelling, Elevator: full management inside the scope. An
  estate may move between the neighbourhoods the cadre holds, a building between
  their estates: the change form saves the other fields, then moves the place
  through ``services.estate_move`` / ``building_move``, which carry every
  place-bound row below along. The parent of a dwelling or an elevator is fixed
  once created.
* ElevatorInspection: recorded through ``services.elevator_inspection_record``
  (dates move, status follows), whose checks the form runs by the same call
  (core/admin_forms.py); afterwards only the agency, certificate and notes
  may be corrected. Deleting one (superusers) goes through
  ``services.elevator_inspection_delete``.
"""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin_forms import ServiceFormAdminMixin, ServiceModelForm
from core.admin_history import ScopedHistoryAdmin
from core.admin_scoping import ScopedModelAdmin, ScopedTabularInline

from .models import (
    Area,
    Building,
    District,
    Dwelling,
    Elevator,
    ElevatorInspection,
    Estate,
    Neighbourhood,
    PropertyCompany,
    Subdistrict,
)
from .selectors import building_number_q, inspection_due_q
from .services import (
    building_move,
    elevator_inspection_delete,
    elevator_inspection_record,
    estate_move,
)

SOON_DAYS = 30


@contextmanager
def _outside_the_scope_is_404():
    """A move to a place outside the user's scope is a 404 like any place outside it
    (the admin's transaction rolls back; nothing is saved)."""
    try:
        yield
    except PermissionDenied as exc:
        raise Http404(str(exc)) from exc


def _count_of(model, fk: str):
    """A correlated ``COUNT`` of ``model`` rows pointing at the outer row (no GROUP BY)."""
    rows = (
        model.objects.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


class BuildingNumberSearchMixin:
    """Search that understands building numbers: "12", "12号楼" or "１２号" finds 12号楼.

    Terms that are building numbers match ``building_number_field`` exactly (12号楼,
    12号楼2单元, not 112号楼); the other terms go through ``search_fields`` as usual
    (icontains, so a Chinese estate name matches by any part of it).
    """

    building_number_field = "number"
    #: whether "12" alone is a building number here (in a dwelling list it may be a room)
    bare_digits_are_building_numbers = True

    def get_search_results(self, request, queryset, search_term):
        numbers, others = [], []
        for term in search_term.split():
            condition = building_number_q(
                term,
                field=self.building_number_field,
                bare_digits=self.bare_digits_are_building_numbers,
            )
            if condition is None:
                others.append(term)
            else:
                numbers.append(condition)
        queryset, may_have_duplicates = super().get_search_results(
            request, queryset, " ".join(others)
        )
        for condition in numbers:
            queryset = queryset.filter(condition)
        return queryset, may_have_duplicates


# --- the tree above a committee: superusers only -----------------------------------


@admin.register(District)
class DistrictAdmin(ScopedModelAdmin):
    scoped_actions = ()
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(Subdistrict)
class SubdistrictAdmin(ScopedModelAdmin):
    scoped_actions = ()
    list_display = ("name", "district", "code")
    list_select_related = ("district",)
    list_filter = ("district",)
    search_fields = ("name", "code")


@admin.register(Area)
class AreaAdmin(ScopedModelAdmin):
    scoped_actions = ()
    list_display = ("name", "subdistrict")
    list_select_related = ("subdistrict",)
    list_filter = ("subdistrict",)
    search_fields = ("name",)


@admin.register(Neighbourhood)
class NeighbourhoodAdmin(ScopedModelAdmin):
    scoped_actions = ("view", "change")  # a cadre corrects contact details only
    list_display = ("name", "subdistrict", "area", "phone", "address")
    list_select_related = ("subdistrict", "area")
    list_filter = ("subdistrict", "area")
    search_fields = ("name", "code", "address")
    search_help_text = _("Search by name, code or address.")

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ()
        return ("subdistrict", "area", "name", "code")


# --- property companies ------------------------------------------------------------


@admin.register(PropertyCompany)
class PropertyCompanyAdmin(ScopedModelAdmin):
    scoped_actions = ("view", "add", "change")
    list_display = ("name", "contact_name", "phone", "credit_code")
    search_fields = ("name", "credit_code", "contact_name")
    search_help_text = _("Search by company name or credit code.")

    def unscoped_visible_q(self, request):
        # A company serving no estate belongs to no neighbourhood: a shared entry
        # that any cadre may pick for one of their estates.
        return Q(~Exists(Estate.objects.filter(property_company=OuterRef("pk"))))

    def _all_places_are_mine(self, request, obj) -> bool:
        """Whether every estate ``obj`` serves lies in the user's scope (none: yes).

        A company that also serves another neighbourhood's estate is shared: its name
        and contacts are that neighbourhood's too, so a cadre only reads it.
        """
        scope = self.get_scope(request)
        if scope.everything:
            return True
        return (
            not Estate.objects.filter(property_company=obj).exclude(Estate.scope_q(scope)).exists()
        )

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None:
            return allowed
        return self._all_places_are_mine(request, obj)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        if not allowed or obj is None:
            return allowed
        return self._all_places_are_mine(request, obj)


# --- estates and buildings -------------------------------------------------------------


class BuildingInline(ScopedTabularInline):
    model = Building
    fields = ("number", "floors", "built_year")
    extra = 0
    show_change_link = True


@admin.register(Estate)
class EstateAdmin(ScopedModelAdmin):
    list_display = ("name", "neighbourhood", "property_company", "building_count", "address")
    list_select_related = ("neighbourhood", "property_company")
    list_filter = ("neighbourhood", "property_company")
    search_fields = ("name", "address")
    search_help_text = _("Search by estate name or address.")
    fields = (
        "neighbourhood",
        "name",
        "address",
        "property_company",
        "built_year",
        ("latitude", "longitude"),
    )
    inlines = (BuildingInline,)

    def safely_get_queryset(self, request):
        return (
            super()
            .safely_get_queryset(request)
            .annotate(building_total=_count_of(Building, "estate"))
        )

    @admin.display(description=_("buildings"), ordering="building_total")
    def building_count(self, obj):
        return obj.building_total

    def save_model(self, request, obj, form, change):
        if not (change and "neighbourhood" in form.changed_data):
            super().save_model(request, obj, form, change)
            return
        # The other fields are saved in the old place; the move is the service's.
        target = obj.neighbourhood
        obj.neighbourhood_id = form.initial["neighbourhood"]
        super().save_model(request, obj, form, change)
        with _outside_the_scope_is_404():
            estate_move(estate=obj, neighbourhood=target, by=request.user)


class ElevatorInline(ScopedTabularInline):
    model = Elevator
    fields = ("device_code", "retrofitted", "status", "maintenance_company", "next_inspection_due")
    extra = 0
    show_change_link = True


@admin.register(Building)
class BuildingAdmin(BuildingNumberSearchMixin, ScopedModelAdmin):
    list_display = (
        "number",
        "estate",
        "floors",
        "dwelling_count",
        "elevator_count",
        "neighbourhood",
    )
    list_select_related = ("estate", "neighbourhood")
    list_filter = ("estate", "neighbourhood")
    search_fields = ("estate__name", "number")
    search_help_text = _("Search by estate name or building number, e.g. 12 or 12号楼.")
    fields = ("estate", "number", "floors", "built_year", "neighbourhood")
    readonly_fields = ("neighbourhood",)
    choice_select_related = ("estate",)
    inlines = (ElevatorInline,)

    def safely_get_queryset(self, request):
        return (
            super()
            .safely_get_queryset(request)
            .annotate(
                dwelling_total=_count_of(Dwelling, "building"),
                elevator_total=_count_of(Elevator, "building"),
            )
        )

    def save_model(self, request, obj, form, change):
        if not (change and "estate" in form.changed_data):
            super().save_model(request, obj, form, change)
            return
        # The other fields are saved in the old place; the move is the service's.
        target = obj.estate
        obj.estate_id = form.initial["estate"]
        super().save_model(request, obj, form, change)
        with _outside_the_scope_is_404():
            building_move(building=obj, estate=target, by=request.user)

    @admin.display(description=_("dwellings"), ordering="dwelling_total")
    def dwelling_count(self, obj):
        return obj.dwelling_total

    @admin.display(description=_("elevators"), ordering="elevator_total")
    def elevator_count(self, obj):
        return obj.elevator_total


# --- dwellings ---------------------------------------------------------------------------


@admin.register(Dwelling)
class DwellingAdmin(BuildingNumberSearchMixin, ScopedHistoryAdmin):
    building_number_field = "building__number"
    bare_digits_are_building_numbers = False  # "1203" is a room
    list_display = ("room", "building", "floor", "floor_area", "neighbourhood")
    list_select_related = ("building__estate", "neighbourhood")
    list_filter = ("estate", "neighbourhood")
    search_fields = ("room", "estate__name", "building__number")
    search_help_text = _("Search by room, estate name or building number, e.g. 12号楼 1203.")
    add_fields = ("building", "room", "floor", "floor_area", "owners")
    fields = (*add_fields, "owner_list", "estate", "neighbourhood")
    readonly_fields = ("owner_list", "estate", "neighbourhood")
    autocomplete_fields = ("building",)
    raw_id_fields = ("owners",)
    choice_select_related = ("building__estate",)
    # Change history (simple-history, kept by the registry): scoped and read-only.
    history_hidden_fields = ("estate", "neighbourhood")
    history_select_related = ("building__estate",)

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "building") if obj is not None else fields

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "owners":
            # Accounts are not places: any active account may own a dwelling. The
            # raw-id widget shows ids only, so no one's name or phone is listed.
            accounts = db_field.remote_field.model._default_manager
            kwargs["queryset"] = accounts.filter(is_active=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=_("owners"))
    def owner_list(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        owners = obj.owners.order_by("pk")
        if not owners:
            return "-"
        return format_html_join(", ", "{} ({})", ((o.name or "-", o.masked_phone) for o in owners))


# --- elevators and inspections ---------------------------------------------------------------


class InspectionDueFilter(admin.SimpleListFilter):
    title = _("inspection due")
    parameter_name = "inspection_due"

    def lookups(self, request, model_admin):
        return (
            ("overdue", _("overdue")),
            ("30", _("within 30 days")),
            ("7", _("within 7 days")),
        )

    def queryset(self, request, queryset):
        value = self.value()
        if value == "overdue":
            return queryset.filter(inspection_due_q(overdue=True))
        if value in ("30", "7"):
            return queryset.filter(inspection_due_q(within_days=int(value)))
        return queryset


class InspectionInline(ScopedTabularInline):
    """The elevator's inspection history, read-only (record new ones with the service)."""

    model = ElevatorInspection
    scoped_actions = ("view",)
    fields = ("inspected_on", "result", "agency", "certificate_number")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Elevator)
class ElevatorAdmin(BuildingNumberSearchMixin, ScopedModelAdmin):
    building_number_field = "building__number"
    bare_digits_are_building_numbers = False  # digits alone may be a device code
    list_display = (
        "device_code",
        "building",
        "retrofitted",
        "status",
        "last_inspection",
        "next_due",
        "maintenance_company",
    )
    list_select_related = ("building__estate",)
    list_filter = (InspectionDueFilter, "status", "retrofitted", "estate", "neighbourhood")
    search_fields = ("device_code", "estate__name", "building__number", "maintenance_company")
    search_help_text = _("Search by device code, estate name, building number or company.")
    add_fields = (
        "building",
        "device_code",
        "retrofitted",
        "status",
        ("maintenance_company", "maintenance_phone"),
        "installed_on",
        ("last_inspection", "next_inspection_due"),
    )
    fields = (*add_fields, "record_inspection", "estate", "neighbourhood")
    readonly_fields = ("record_inspection", "estate", "neighbourhood")
    autocomplete_fields = ("building",)
    inlines = (InspectionInline,)

    class Media:
        css = {"all": ("buildings/admin/places.css",)}

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "building") if obj is not None else fields

    @admin.display(description=_("next inspection due"), ordering="next_inspection_due")
    def next_due(self, obj):
        due = obj.next_inspection_due
        if due is None:
            return "-"
        days = (due - timezone.localdate()).days
        shown = date_format(due)
        if days < 0:
            return format_html(
                '<span class="linli-due linli-due-overdue">{} · {}</span>', shown, _("overdue")
            )
        if days <= SOON_DAYS:
            label = ngettext("due in %(days)d day", "due in %(days)d days", days) % {"days": days}
            return format_html(
                '<span class="linli-due linli-due-soon">{} · {}</span>', shown, label
            )
        return shown

    @admin.display(description=_("annual inspection"))
    def record_inspection(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:buildings_elevatorinspection_add", current_app=self.admin_site.name)
        return format_html(
            '<a href="{}?{}">{}</a>',
            url,
            urlencode({"elevator": obj.pk}),
            _("Record an inspection"),
        )


class ElevatorInspectionForm(ServiceModelForm):
    """A new inspection is recorded by ``elevator_inspection_record``, whose checks show
    on the form (core/admin_forms.py); afterwards only free-text fields change."""

    class Meta:
        model = ElevatorInspection
        fields = ("elevator", "inspected_on", "result", "agency", "certificate_number", "notes")

    def saves_through_service(self) -> bool:
        return self.instance.pk is None  # a correction of agency, certificate, notes: no rule

    def call_service(self) -> ElevatorInspection:
        data = self.cleaned_data
        # A fresh row: the service keeps the caller's elevator in step, even in a dry run.
        elevator = Elevator.objects.get(pk=data["elevator"].pk)
        return elevator_inspection_record(
            elevator=elevator,
            inspected_on=data["inspected_on"],
            result=data["result"],
            agency=data.get("agency", ""),
            certificate_number=data.get("certificate_number", ""),
            notes=data.get("notes", ""),
            recorded_by=self.acting_user,
        )


@admin.register(ElevatorInspection)
class ElevatorInspectionAdmin(ServiceFormAdminMixin, BuildingNumberSearchMixin, ScopedModelAdmin):
    scoped_actions = ("view", "add", "change")  # the record stays; superusers may delete
    form = ElevatorInspectionForm
    building_number_field = "elevator__building__number"
    bare_digits_are_building_numbers = False
    list_display = (
        "inspected_on",
        "elevator",
        "building",
        "result",
        "agency",
        "certificate_number",
        "recorded_by",
    )
    list_select_related = ("elevator__building__estate", "recorded_by")
    list_filter = ("result", "inspected_on", "elevator__estate", "neighbourhood")
    search_fields = (
        "elevator__device_code",
        "certificate_number",
        "elevator__estate__name",
        "elevator__building__number",
    )
    search_help_text = _("Search by device code, certificate number, estate or building number.")
    autocomplete_fields = ("elevator",)
    add_fields = ("elevator", "inspected_on", "result", "agency", "certificate_number", "notes")
    fields = (
        "elevator",
        "inspected_on",
        "result",
        "agency",
        "certificate_number",
        "notes",
        "recorded_by",
        "neighbourhood",
    )

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("elevator", "inspected_on", "result", "recorded_by", "neighbourhood")

    @admin.display(description=_("building"), ordering="elevator__building")
    def building(self, obj):
        return obj.elevator.building

    def delete_model(self, request, obj):
        elevator_inspection_delete(inspection=obj)

    def delete_queryset(self, request, queryset):
        for inspection in queryset.order_by("pk"):
            elevator_inspection_delete(inspection=inspection)
