"""Query filters of the registry endpoints (django-filter).

Place filters take an id and do not validate it against the database: an id
outside the caller's scope simply matches nothing. ``search`` is the registry's
one search box (``residents.search.resident_search_q``): name, pinyin, initials,
last 4 digits of a phone or ID number, or a search token (``idh:...``). A whole ID
number in the query string is refused (400): it would reach the access log. Clients
POST it to ``/api/v1/residents/search/`` (or ``/households/search/``) instead.
"""

from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from buildings.api.filters import IdFilter

from ..models import Household, ResidenceStatus, Resident
from ..search import resident_search_q, whole_id_number
from ..selectors.reports import AGE_LIMIT, birth_date_bounds


class SearchField(forms.CharField):
    """The one search box, as a query parameter: never a whole ID number."""

    def __init__(self, *args, search_endpoint: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.search_endpoint = search_endpoint

    def validate(self, value):
        super().validate(value)
        if value and whole_id_number(value):
            raise forms.ValidationError(
                _(
                    "Do not put a whole ID number in a URL: send it in the body of a POST "
                    "to %(endpoint)s."
                ),
                code="id_number_in_url",
                params={"endpoint": self.search_endpoint},
            )


class SearchFilter(filters.CharFilter):
    """``search``; ``search_endpoint`` (passed on to the field) names where to POST instead."""

    field_class = SearchField


class MovedOutFilter(filters.BooleanFilter):
    """``true``: only those who moved out; ``false``: only current ones."""

    def filter(self, queryset, value):
        if value is None:
            return queryset
        return queryset.filter(**{f"{self.field_name}__isnull": not value})


class AgeFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class ResidentFilter(filters.FilterSet):
    neighbourhood = IdFilter(field_name="neighbourhood_id", label=_("neighbourhood id"))
    estate = IdFilter(field_name="estate_id", label=_("estate id"))
    building = IdFilter(field_name="building_id", label=_("building id"))
    dwelling = IdFilter(field_name="dwelling_id", label=_("dwelling id"))
    household = IdFilter(field_name="household_id", label=_("household id"))
    care_tag = filters.CharFilter(method="filter_care_tag", label=_("care tag code"))
    residence_status = filters.MultipleChoiceFilter(
        choices=ResidenceStatus.choices, label=_("residence status (repeat for several)")
    )
    moved_out = MovedOutFilter(
        field_name="moved_out", label=_("true: moved out only; false: current residents only")
    )
    age_min = AgeFilter(
        method="filter_age", label=_("aged at least (years)"), min_value=0, max_value=AGE_LIMIT
    )
    age_max = AgeFilter(
        method="filter_age", label=_("aged at most (years)"), min_value=0, max_value=AGE_LIMIT
    )
    search = SearchFilter(
        method="filter_search",
        label=_(
            "name, pinyin or initials, last 4 digits of a phone or ID number, or a search "
            "token; a whole ID number goes by POST to /api/v1/residents/search/"
        ),
        search_endpoint="/api/v1/residents/search/",
    )

    class Meta:
        model = Resident
        fields = [
            "neighbourhood",
            "estate",
            "building",
            "dwelling",
            "household",
            "care_tag",
            "residence_status",
            "moved_out",
            "age_min",
            "age_max",
            "search",
        ]

    def filter_care_tag(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        links = Resident.care_tags.through.objects.filter(
            resident_id=OuterRef("pk"), caretag__code=value
        )
        return queryset.filter(Exists(links))

    def filter_age(self, queryset, name, value):
        if value is None:
            return queryset
        years = int(value)
        bounds = {"age_min": years} if name == "age_min" else {"age_max": years}
        latest, excluded = birth_date_bounds(
            age_min=bounds.get("age_min"), age_max=bounds.get("age_max"), today=timezone.localdate()
        )
        if latest is not None:
            return queryset.filter(birth_date__lte=latest)
        return queryset.filter(birth_date__gt=excluded)

    def filter_search(self, queryset, name, value):
        return queryset.filter(resident_search_q(value))


class HouseholdFilter(filters.FilterSet):
    neighbourhood = IdFilter(field_name="neighbourhood_id", label=_("neighbourhood id"))
    estate = IdFilter(field_name="estate_id", label=_("estate id"))
    building = IdFilter(field_name="building_id", label=_("building id"))
    dwelling = IdFilter(field_name="dwelling_id", label=_("dwelling id"))
    moved_out = MovedOutFilter(
        field_name="moved_out", label=_("true: moved out only; false: current households only")
    )
    search = SearchFilter(
        method="filter_search",
        label=_("finds households by a member (same as residents' search)"),
        search_endpoint="/api/v1/households/search/",
    )

    class Meta:
        model = Household
        fields = ["neighbourhood", "estate", "building", "dwelling", "moved_out", "search"]

    def filter_search(self, queryset, name, value):
        q = resident_search_q(value)
        if q == Q():
            return queryset
        members = Resident.objects.filter(q, household_id=OuterRef("pk"))
        return queryset.filter(Exists(members))
