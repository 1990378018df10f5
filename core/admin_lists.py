"""Admin changelists whose cost does not grow with the jurisdiction.

A cadre of a whole district sees the same page as a cadre of one neighbourhood: 100
rows, a few bounded queries. Two pieces make that so:

* :class:`BoundedChangeListMixin` (with :class:`BoundedCountPaginator`): the
  changelist counts at most ``count_limit + 1`` rows, in a subquery
  ``SELECT COUNT(*) FROM (SELECT 1 ... LIMIT n + 1)``. Below the bound the number is
  exact; above it the page reads "more than 10,000" and the bounded pages can still
  be paged through. The full (unfiltered) count and the facet counts, both computed
  over the whole scope, are switched off.
* :class:`PlaceCascade`: the place filter as a cascade of levels (subdistrict ->
  neighbourhood -> estate -> building). Each level lists the children of the place
  chosen above it; with nothing chosen above, a level is listed only when the places
  of that level in scope are few (at most ``max_choices``). Every list is one query of
  at most ``max_choices + 1`` places, read through ``Scope.filter``; a place outside the
  scope is never listed, and choosing one filters the (already scoped) rows to nothing.

The admin templates under ``templates/admin/<app>/`` read ``cl.result_count_bounded`` and
``cl.result_count_text`` for the result line and the "select all" question.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.scoping import place_queryset

# --- a bounded count ---------------------------------------------------------------------


class BoundedCountPaginator(Paginator):
    """A paginator that counts at most ``count_limit + 1`` rows.

    ``count`` is exact up to ``count_limit``; above it, it is ``count_limit`` (so that
    the pages up to the bound can be reached) and ``count_is_bounded`` is true.
    """

    count_limit = 10_000

    @cached_property
    def _bounded_count(self) -> int:
        rows = self.object_list
        probe = self.count_limit + 1
        if isinstance(rows, QuerySet):
            # Sliced, .count() becomes SELECT COUNT(*) FROM (SELECT ... LIMIT probe);
            # values("pk") and no ordering keep the inner select to the index.
            return rows.order_by().values("pk")[:probe].count()
        return len(rows[:probe])

    @property
    def count_is_bounded(self) -> bool:
        return self._bounded_count > self.count_limit

    @cached_property
    def count(self) -> int:
        return min(self._bounded_count, self.count_limit)


class BoundedChangeList(ChangeList):
    """A changelist that knows whether its count stopped at the paginator's bound."""

    def get_results(self, request):
        super().get_results(request)
        paginator = self.paginator
        self.result_count_bounded = bool(getattr(paginator, "count_is_bounded", False))
        self.result_count_limit = getattr(paginator, "count_limit", None)

    @property
    def result_count_text(self) -> str:
        """The result count as shown: the number, or "more than 10,000"."""
        if self.result_count_bounded:
            return gettext("more than %(count)s") % {
                "count": number_format(self.result_count_limit, force_grouping=True)
            }
        return str(self.result_count)


class BoundedChangeListMixin:
    """For a ModelAdmin over rows that can number a million: bounded count, no full
    count, no facet counts (each would be computed over the whole scope)."""

    paginator = BoundedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_changelist(self, request, **kwargs):
        return BoundedChangeList


# --- the place cascade -------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceLevel:
    """One level of a :class:`PlaceCascade`.

    ``path`` leads from the listed model to the place (``"estate"``,
    ``"neighbourhood__subdistrict"``); ``parent`` is the place model's field naming
    the place of the level above (``"neighbourhood"`` for an estate), None at the top.
    """

    path: str
    parent: str | None = None

    @property
    def parameter(self) -> str:
        return f"{self.path}__id__exact"


@dataclass
class _LevelState:
    raw: str | None = None  # the value in the URL
    value: int | None = None  # the value, when it is an id
    choices: list[tuple[int, str]] | None = None  # None: the level is not offered

    @property
    def invalid(self) -> bool:
        return self.raw is not None and self.value is None


def _as_id(raw: str | None) -> int | None:
    if raw is None or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


class PlaceCascade:
    """The place filter of a changelist as a cascade of bounded lists (module docstring).

    ``PlaceCascade(PlaceLevel(...), ...).filters`` are list_filter classes, one a level,
    top level first; the model admin must be a scoped admin (``get_scope(request)``).
    """

    #: the most places a level lists
    max_choices = 100

    def __init__(self, *levels: PlaceLevel):
        self.levels = levels
        self.filters = tuple(self._filter_class(index) for index in range(len(levels)))

    def _filter_class(self, index: int) -> type[admin.SimpleListFilter]:
        attrs = {
            "cascade": self,
            "index": index,
            "parameter_name": self.levels[index].parameter,
            "__module__": __name__,
        }
        name = "PlaceLevelFilter_" + self.levels[index].path.replace("__", "_")
        return type(name, (_PlaceLevelFilter,), attrs)

    def place_model(self, model, index: int):
        return get_fields_from_path(model, self.levels[index].path)[-1].related_model

    def below(self, index: int) -> list[str]:
        return [level.parameter for level in self.levels[index + 1 :]]

    def resolve(self, request, model_admin) -> list[_LevelState]:
        """Every level's value and choices, computed once per request."""
        memo = request.__dict__.setdefault("_linli_place_cascade", {})
        key = (id(self), model_admin.model)
        if key not in memo:
            memo[key] = self._resolve(request, model_admin)
        return memo[key]

    def _resolve(self, request, model_admin) -> list[_LevelState]:
        scope = model_admin.get_scope(request)
        limit = self.max_choices
        states: list[_LevelState] = []
        parent_id = None  # the place chosen at the level above
        chosen_above = False  # a place is chosen at some level above
        broken = False  # an invalid value above: nothing below is offered
        crowded = False  # a level above had too many places to list: so has this one
        for index, level in enumerate(self.levels):
            raw = request.GET.get(level.parameter)
            state = _LevelState(raw=raw, value=_as_id(raw))
            states.append(state)
            if broken or state.invalid:
                broken = True
                continue
            places = scope.filter(place_queryset(self.place_model(model_admin.model, index)))
            if parent_id is not None and level.parent:
                rows = list(places.filter(**{level.parent: parent_id})[:limit])
            elif not (chosen_above or crowded):
                rows = list(places[: limit + 1])
                if len(rows) > limit:
                    rows, crowded = None, True  # too many to list with nothing chosen above
                elif len(rows) == 1 and state.value is None:
                    rows = None  # one place: nothing to choose
            else:
                rows = None  # the level above is not chosen yet
            if state.value is not None and not any(row.pk == state.value for row in rows or ()):
                rows = [*(rows or ()), *places.filter(pk=state.value)]  # keep the choice shown
            if rows is not None:
                state.choices = [(row.pk, str(row)) for row in rows]
            parent_id = state.value
            chosen_above = chosen_above or state.value is not None
        return states


class _PlaceLevelFilter(admin.SimpleListFilter):
    """One level of a :class:`PlaceCascade` (the class is made by the cascade)."""

    cascade: PlaceCascade
    index: int

    def __init__(self, request, params, model, model_admin):
        self.state = self.cascade.resolve(request, model_admin)[self.index]
        self.title = self.cascade.place_model(model, self.index)._meta.verbose_name
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return self.state.choices or ()

    def has_output(self):
        return bool(self.state.choices)

    def queryset(self, request, queryset):
        if self.state.invalid:
            return queryset.none()
        if self.state.value is None:
            return queryset
        return queryset.filter(**{self.parameter_name: self.state.value})

    def choices(self, changelist):
        below = self.cascade.below(self.index)
        yield {
            "selected": self.state.raw is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name, *below]),
            "display": _("All"),
        }
        for pk, label in self.state.choices or ():
            yield {
                "selected": pk == self.state.value,
                "query_string": changelist.get_query_string({self.parameter_name: pk}, below),
                "display": label,
            }
