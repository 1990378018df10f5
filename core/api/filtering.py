"""The API's filter backend: django-filter's, skipped when the request filters nothing.

Building a FilterSet deep-copies every declared filter and builds its form (a dozen
deep copies and form fields per request) only to find that no parameter was sent: a
plain list, the most frequent request, pays that for nothing. When no query parameter
other than the pagination's own is present, the queryset goes through untouched, which
is what the FilterSet would have answered; any other parameter, known or not, takes
django-filter's path as before (so an invalid value is still a 400).
"""

from django_filters.rest_framework import DjangoFilterBackend

#: parameters of the cursor pagination and the renderer, never a filter
NOT_FILTERS = frozenset({"cursor", "page_size", "format"})


class FilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        if NOT_FILTERS.issuperset(request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)
