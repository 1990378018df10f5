"""Query filters of the report list (django-filter).

Place filters take an id and do not validate it against the database: an id outside the
caller's scope matches nothing. ``status`` takes one status or several, comma-separated
(``status=submitted,acknowledged``); an unknown one is a 400.
"""

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from buildings.api.filters import IdFilter

from ..models import OPEN_STATUSES, Issue, Source, Status


class StatusListField(forms.CharField):
    """``submitted,acknowledged`` -> ["submitted", "acknowledged"]; unknown ones refused."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return []
        wanted = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [part for part in wanted if part not in Status.values]
        if unknown:
            raise forms.ValidationError(
                _("Unknown status: %(unknown)s. Use any of: %(known)s."),
                code="invalid_status",
                params={"unknown": ", ".join(unknown), "known": ", ".join(Status.values)},
            )
        return wanted


class StatusListFilter(filters.CharFilter):
    field_class = StatusListField

    def filter(self, queryset, value):
        if not value:
            return queryset
        return queryset.filter(status__in=value)


class OverdueFilter(filters.BooleanFilter):
    """``true``: open reports past their current deadline; ``false``: all the others."""

    def filter(self, queryset, value):
        if value is None:
            return queryset
        overdue = Q(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class IssueFilter(filters.FilterSet):
    category = filters.CharFilter(field_name="category__code", label=_("category code"))
    status = StatusListFilter(label=_("status, or several separated by commas"))
    neighbourhood = IdFilter(field_name="neighbourhood_id", label=_("neighbourhood id"))
    estate = IdFilter(field_name="estate_id", label=_("estate id"))
    building = IdFilter(field_name="building_id", label=_("building id"))
    source = filters.ChoiceFilter(choices=Source.choices, label=_("source"))
    created_after = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label=_("reported at or after (ISO 8601)")
    )
    created_before = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label=_("reported before (ISO 8601)")
    )
    updated_after = filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label=_("changed at or after (ISO 8601)")
    )
    overdue = OverdueFilter(label=_("true: open and past the deadline only"))

    class Meta:
        model = Issue
        fields = [
            "category",
            "status",
            "neighbourhood",
            "estate",
            "building",
            "source",
            "created_after",
            "created_before",
            "updated_after",
            "overdue",
        ]
