"""List filters of the registry admin: the place cascade, care tags, age bands, moved out.

None of them reads the scoped rows: a district's million residents cost the same as one
neighbourhood's (core/admin_lists.py).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin_lists import PlaceCascade, PlaceLevel

from ..models import CareTag
from ..selectors.registry import AGE_BANDS, age_band_q

#: subdistrict -> neighbourhood -> estate -> building, over the rows' own place ids (the
#: denormalised ``subdistrict_id`` too, ``buildings.placebound``: one indexed column and
#: a one-relation lookup the admin allows); the parameters of the estate and building
#: levels are those of the export page (``estate__id__exact``, ``building__id__exact``).
REGISTRY_PLACES = PlaceCascade(
    PlaceLevel("subdistrict"),
    PlaceLevel("neighbourhood", parent="subdistrict"),
    PlaceLevel("estate", parent="neighbourhood"),
    PlaceLevel("building", parent="estate"),
)


class CareTagFilter(admin.SimpleListFilter):
    """The active care tags: reference data, one short list whatever the scope (not the
    tags found among the scoped rows, which would read every row of the scope)."""

    title = _("care tags")
    parameter_name = "care_tags__id__exact"

    def lookups(self, request, model_admin):
        return [(str(tag.pk), tag.name) for tag in CareTag.objects.filter(active=True)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(care_tags__id__exact=int(value))


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
