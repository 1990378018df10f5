"""Query filters of the place endpoints (django-filter).

Parent filters take an id and filter without validating it against the
database: an id outside the caller's scope simply matches nothing, so a filter
never tells whether another neighbourhood's object exists.
"""

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from buildings.models import (
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

# Ids are positive and fit a 64-bit column: a larger number would overflow the
# database's integer (a 500 on SQLite) instead of matching nothing.
MAX_ID = 2**63 - 1


class IntegerFilter(filters.NumberFilter):
    """A whole number (django-filter's NumberFilter takes decimals); documented as an
    integer with its bounds (``core.api.schema.IntegerFilterExtension``)."""

    field_class = forms.IntegerField


class IdFilter(IntegerFilter):
    """A parent's id: a whole number from 1 to MAX_ID (anything else is a 400)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def search_filter(label):
    return filters.CharFilter(method="filter_search", label=label)


class SearchFilterSet(filters.FilterSet):
    """``?search=`` matches any of ``search_fields`` (case-insensitive substring)."""

    search_fields: tuple[str, ...] = ("name",)

    search = search_filter(_("part of the name"))

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        q = Q()
        for field in self.search_fields:
            q |= Q(**{f"{field}__icontains": value})
        return queryset.filter(q)


class DistrictFilter(SearchFilterSet):
    class Meta:
        model = District
        fields = ["search"]


class SubdistrictFilter(SearchFilterSet):
    district = IdFilter(field_name="district__id", label=_("district id"))

    class Meta:
        model = Subdistrict
        fields = ["district", "search"]


class AreaFilter(SearchFilterSet):
    subdistrict = IdFilter(field_name="subdistrict__id", label=_("subdistrict id"))

    class Meta:
        model = Area
        fields = ["subdistrict", "search"]


class NeighbourhoodFilter(SearchFilterSet):
    subdistrict = IdFilter(field_name="subdistrict__id", label=_("subdistrict id"))
    area = IdFilter(field_name="area__id", label=_("area id"))

    class Meta:
        model = Neighbourhood
        fields = ["subdistrict", "area", "search"]


class PropertyCompanyFilter(SearchFilterSet):
    class Meta:
        model = PropertyCompany
        fields = ["search"]


class EstateFilter(SearchFilterSet):
    search_fields = ("name", "address")
    search = search_filter(_("part of the name or address"))
    neighbourhood = IdFilter(field_name="neighbourhood__id", label=_("neighbourhood id"))
    property_company = IdFilter(field_name="property_company__id", label=_("property company id"))

    class Meta:
        model = Estate
        fields = ["neighbourhood", "property_company", "search"]


class BuildingFilter(SearchFilterSet):
    search_fields = ("number", "estate__name")
    search = search_filter(_("part of the building number or estate name"))
    estate = IdFilter(field_name="estate__id", label=_("estate id"))
    neighbourhood = IdFilter(field_name="neighbourhood__id", label=_("neighbourhood id"))

    class Meta:
        model = Building
        fields = ["estate", "neighbourhood", "search"]


class DwellingFilter(SearchFilterSet):
    search_fields = ("room",)
    search = search_filter(_("part of the room number"))
    building = IdFilter(field_name="building__id", label=_("building id"))
    estate = IdFilter(field_name="estate__id", label=_("estate id"))
    neighbourhood = IdFilter(field_name="neighbourhood__id", label=_("neighbourhood id"))
    floor = IntegerFilter(label=_("floor"), min_value=-32768, max_value=32767)
    floor_area_min = filters.NumberFilter(
        field_name="floor_area", lookup_expr="gte", label=_("floor area at least (m²)")
    )
    floor_area_max = filters.NumberFilter(
        field_name="floor_area", lookup_expr="lte", label=_("floor area at most (m²)")
    )

    class Meta:
        model = Dwelling
        fields = [
            "building",
            "estate",
            "neighbourhood",
            "floor",
            "floor_area_min",
            "floor_area_max",
            "search",
        ]


class ElevatorFilter(SearchFilterSet):
    search_fields = ("device_code", "maintenance_company")
    search = search_filter(_("part of the device code or maintenance company"))
    building = IdFilter(field_name="building__id", label=_("building id"))
    estate = IdFilter(field_name="estate__id", label=_("estate id"))
    neighbourhood = IdFilter(field_name="neighbourhood__id", label=_("neighbourhood id"))
    next_inspection_due_before = filters.DateFilter(
        field_name="next_inspection_due",
        lookup_expr="lte",
        label=_("next inspection due on or before"),
    )
    next_inspection_due_after = filters.DateFilter(
        field_name="next_inspection_due",
        lookup_expr="gte",
        label=_("next inspection due on or after"),
    )
    overdue = filters.BooleanFilter(method="filter_overdue", label=_("inspection overdue"))

    class Meta:
        model = Elevator
        fields = [
            "building",
            "estate",
            "neighbourhood",
            "retrofitted",
            "status",
            "next_inspection_due_before",
            "next_inspection_due_after",
            "overdue",
            "search",
        ]

    def filter_overdue(self, queryset, name, value):
        overdue = Q(next_inspection_due__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class ElevatorInspectionFilter(filters.FilterSet):
    elevator = IdFilter(field_name="elevator__id", label=_("elevator id"))
    building = IdFilter(field_name="elevator__building__id", label=_("building id"))
    neighbourhood = IdFilter(field_name="neighbourhood__id", label=_("neighbourhood id"))
    inspected_on_before = filters.DateFilter(
        field_name="inspected_on", lookup_expr="lte", label=_("inspected on or before")
    )
    inspected_on_after = filters.DateFilter(
        field_name="inspected_on", lookup_expr="gte", label=_("inspected on or after")
    )

    class Meta:
        model = ElevatorInspection
        fields = [
            "elevator",
            "building",
            "neighbourhood",
            "result",
            "inspected_on_before",
            "inspected_on_after",
        ]
