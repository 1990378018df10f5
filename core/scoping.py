"""Place scoping: "which places may this user see for this permission?".

Permissions are granted with django-guardian on *places* (a District,
Subdistrict, Area, Neighbourhood, Estate or Building), never on rows. A grant
on a place covers everything under it. This module turns a user's grants into
a :class:`Scope` - sets of neighbourhood, estate and building ids - and every
selector, admin class and API view filters with ``scope.filter(queryset)``.

The place models live in ``buildings`` (above ``core``), so they register
themselves here with :func:`register_place` when their app is ready; ``core``
never imports an upper app.

The answer is cached on the user object, which Django builds once per request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet

# kind of a resolved grant
NEIGHBOURHOOD, ESTATE, BUILDING = "neighbourhood", "estate", "building"

# place model -> function(ids) -> (kind, ids covered)
_PLACES: dict[type, Callable[[list[int]], tuple[str, Iterable[int]]]] = {}
# place model -> relations its name needs (a building's name shows its estate)
_PLACE_RELATED: dict[type, tuple[str, ...]] = {}
# kind -> the place model whose ids are ids of that kind (Neighbourhood for "neighbourhood")
_KIND_MODELS: dict[str, type] = {}


def register_place(
    model: type,
    expand: Callable[[list[int]], tuple[str, Iterable[int]]],
    *,
    name_needs: tuple[str, ...] = (),
    is_kind: str | None = None,
):
    """Declare ``model`` a place on which permissions can be granted.

    ``expand(ids)`` returns the kind of ids the grant resolves to and those ids:
    a grant on a Subdistrict resolves to the neighbourhoods under it, one on an
    Estate to that estate alone. ``name_needs`` lists the relations that the
    place's ``str()`` reads, so that a list of places loads them in one query.
    ``is_kind`` names the kind of id the model's own primary keys are (a Neighbourhood's
    ids are "neighbourhood" ids), so that core can name a bare ``neighbourhood_id``.
    """
    _PLACES[model] = expand
    _PLACE_RELATED[model] = tuple(name_needs)
    if is_kind is not None:
        _KIND_MODELS[is_kind] = model


def place_models() -> list[type]:
    return list(_PLACES)


def kind_model(kind: str) -> type | None:
    """The place model whose ids are ids of ``kind`` (None before the places register)."""
    return _KIND_MODELS.get(kind)


def place_queryset(model: type) -> QuerySet:
    """All places of ``model``, with what their names need (for prefetching by name)."""
    queryset = model._default_manager.all()
    related = _PLACE_RELATED.get(model, ())
    return queryset.select_related(*related) if related else queryset


@dataclass(frozen=True)
class Scope:
    """The places a principal may see. ``everything`` for superusers."""

    everything: bool = False
    neighbourhood_ids: frozenset[int] = field(default_factory=frozenset)
    estate_ids: frozenset[int] = field(default_factory=frozenset)
    building_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        return not (
            self.everything or self.neighbourhood_ids or self.estate_ids or self.building_ids
        )

    def q(
        self,
        *,
        neighbourhood: str | None = None,
        estate: str | None = None,
        building: str | None = None,
    ) -> Q:
        """A Q object over the given field paths (e.g. ``neighbourhood="neighbourhood_id"``).

        A field path left out means a grant of that kind never reaches the model.
        """
        if self.everything:
            return Q()
        q = Q(pk__in=[])
        if neighbourhood and self.neighbourhood_ids:
            q |= Q(**{f"{neighbourhood}__in": sorted(self.neighbourhood_ids)})
        if estate and self.estate_ids:
            q |= Q(**{f"{estate}__in": sorted(self.estate_ids)})
        if building and self.building_ids:
            q |= Q(**{f"{building}__in": sorted(self.building_ids)})
        return q

    def filter(self, queryset: QuerySet) -> QuerySet:
        """Restrict ``queryset`` to this scope; its model must define ``scope_q``."""
        model = queryset.model
        if not hasattr(model, "scope_q"):
            raise TypeError(
                f"{model.__name__} does not declare scope_q(scope); it cannot be scoped"
            )
        if self.everything:
            return queryset
        if self.is_empty:
            return queryset.none()
        return queryset.filter(model.scope_q(self))

    def covers_neighbourhood(self, neighbourhood_id: int) -> bool:
        return self.everything or neighbourhood_id in self.neighbourhood_ids

    def covers(
        self, *, neighbourhood_id: int, estate_id: int | None = None, building_id: int | None = None
    ) -> bool:
        """Whether a row with these place ids is in scope (the in-memory ``filter``)."""
        return (
            self.everything
            or neighbourhood_id in self.neighbourhood_ids
            or (estate_id is not None and estate_id in self.estate_ids)
            or (building_id is not None and building_id in self.building_ids)
        )

    def union(self, other: Scope) -> Scope:
        return Scope(
            everything=self.everything or other.everything,
            neighbourhood_ids=self.neighbourhood_ids | other.neighbourhood_ids,
            estate_ids=self.estate_ids | other.estate_ids,
            building_ids=self.building_ids | other.building_ids,
        )


EMPTY = Scope()
EVERYTHING = Scope(everything=True)


def scope_from_grants(grants: Iterable[tuple[int, int]]) -> Scope:
    """Resolve ``(content_type_id, object_id)`` pairs to a Scope (a few queries)."""
    by_model: dict[type, list[int]] = defaultdict(list)
    models_by_ct = {ContentType.objects.get_for_model(m).pk: m for m in _PLACES}
    for ct_id, obj_id in grants:
        model = models_by_ct.get(ct_id)
        if model is not None:
            by_model[model].append(int(obj_id))
    kinds: dict[str, set[int]] = defaultdict(set)
    for model, ids in by_model.items():
        kind, covered = _PLACES[model](ids)
        kinds[kind].update(covered)
    return Scope(
        neighbourhood_ids=frozenset(kinds[NEIGHBOURHOOD]),
        estate_ids=frozenset(kinds[ESTATE]),
        building_ids=frozenset(kinds[BUILDING]),
    )


def _guardian_grants(user, codenames: tuple[str, ...]) -> list[tuple[int, int]]:
    from guardian.models import GroupObjectPermission, UserObjectPermission

    place_cts = [ContentType.objects.get_for_model(m).pk for m in _PLACES]
    filters = {"permission__codename__in": codenames, "content_type_id__in": place_cts}
    direct = UserObjectPermission.objects.filter(user=user, **filters)
    via_group = GroupObjectPermission.objects.filter(group__user=user, **filters)
    pairs = direct.values_list("content_type_id", "object_pk").union(
        via_group.values_list("content_type_id", "object_pk")
    )
    return [(ct, int(pk)) for ct, pk in pairs]


def scope_for(principal, perm: str | Iterable[str]) -> Scope:
    """The places where ``principal`` holds ``perm`` (or any of several perms).

    ``perm`` is "app_label.codename" or a bare codename; a principal is a User,
    an AnonymousUser or an API-key principal (which carries its own scope).
    """
    perms = (perm,) if isinstance(perm, str) else tuple(perm)
    codenames = tuple(sorted(p.split(".")[-1] for p in perms))
    if principal is None or not getattr(principal, "is_authenticated", False):
        return EMPTY
    own = getattr(principal, "linli_scope", None)
    if own is not None:  # API-key principal: its jurisdiction, whatever the perm
        return own(codenames)
    if not principal.is_active:
        return EMPTY
    if principal.is_superuser:
        return EVERYTHING
    cache = principal.__dict__.setdefault("_linli_scope_cache", {})
    if codenames not in cache:
        cache[codenames] = scope_from_grants(_guardian_grants(principal, codenames))
    return cache[codenames]


def clear_scope_cache(user) -> None:
    """Forget cached scopes (after a grant changes within the same request)."""
    user.__dict__.pop("_linli_scope_cache", None)
