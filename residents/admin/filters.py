"""List filters of the registry admin: buildings of the scoped rows, age bands, moved out."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from buildings.models import Building

from ..selectors.registry import AGE_BANDS, age_band_q


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
