"""Place scoping: "which places may this user see for this permission?".

Permissions are granted with django-guardian on *places* (a District,
Subdistrict, Area, Neighbourhood, Estate or Building), never on rows. A grant
on a place covers everything under it. This module turns a user's grants into
a :class:`Scope` - sets of neighbourhood, estate and building ids, and the districts
and subdistricts granted whole - and every selector, admin class and API view
filters with ``scope.filter(queryset)``.

A grant on a District or Subdistrict is kept as that one id as well as the
neighbourhoods under it: rows that carry denormalised ``district_id`` /
``subdistrict_id`` columns (``buildings.placebound.PlaceBound``) are filtered on those,
so the predicate of a district-wide cadre is ``district_id = 7``, not an IN list of
the 557 neighbourhoods under it, and its cost does not grow with the jurisdiction.

The place models live in ``buildings`` (above ``core``), so they register
themselves here with :func:`register_place` when their app is ready; ``core``
never imports an upper app.

The answer is cached on the user object, which Django builds once per request, and
in the cache across requests (:func:`scope_for`): an entry is good while two versions
held in the cache are unchanged - the user's, bumped whenever their grants change
(:func:`clear_scope_cache`, and every guardian grant row saved or deleted), and the
places', bumped whenever a place that a grant can cover through another is saved or
deleted, or a place moves (:func:`places_changed`, connected by the places' app), since a
grant on a Subdistrict covers the neighbourhoods under it *now*. Every cache
call goes through ``core.redis.CacheGuard``: without the cache, scopes are resolved
from the database as before.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save

from core.redis import guard_for

# kind of a resolved grant
NEIGHBOURHOOD, ESTATE, BUILDING = "neighbourhood", "estate", "building"
# the levels a grant can cover whole, kept as their own ids (``Scope.district_ids`` ...)
DISTRICT, SUBDISTRICT = "district", "subdistrict"

# place model -> function(ids) -> (kind, ids covered)
_PLACES: dict[type, Callable[[list[int]], tuple[str, Iterable[int]]]] = {}
# place model -> relations its name needs (a building's name shows its estate)
_PLACE_RELATED: dict[type, tuple[str, ...]] = {}
# kind -> the place model whose ids are ids of that kind (Neighbourhood for "neighbourhood")
_KIND_MODELS: dict[str, type] = {}
# place model -> the level its grants cover whole (District -> "district")
_WHOLE: dict[type, str] = {}


def register_place(
    model: type,
    expand: Callable[[list[int]], tuple[str, Iterable[int]]],
    *,
    name_needs: tuple[str, ...] = (),
    is_kind: str | None = None,
    whole: str | None = None,
):
    """Declare ``model`` a place on which permissions can be granted.

    ``expand(ids)`` returns the kind of ids the grant resolves to and those ids:
    a grant on a Subdistrict resolves to the neighbourhoods under it, one on an
    Estate to that estate alone. ``name_needs`` lists the relations that the
    place's ``str()`` reads, so that a list of places loads them in one query.
    ``is_kind`` names the kind of id the model's own primary keys are (a Neighbourhood's
    ids are "neighbourhood" ids), so that core can name a bare ``neighbourhood_id``.
    ``whole`` (DISTRICT or SUBDISTRICT) says that a grant on the model also covers that
    level whole: the scope keeps the granted ids for a predicate on the rows'
    denormalised column of that level.
    """
    _PLACES[model] = expand
    _PLACE_RELATED[model] = tuple(name_needs)
    if is_kind is not None:
        _KIND_MODELS[is_kind] = model
    if whole is not None:
        if whole not in (DISTRICT, SUBDISTRICT):
            raise ValueError(f"whole must be {DISTRICT!r} or {SUBDISTRICT!r}, not {whole!r}")
        _WHOLE[model] = whole
    _connect_grant_signals()  # guardian rows written outside accounts.services


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
    """The places a principal may see. ``everything`` for superusers.

    ``neighbourhood_ids`` holds every neighbourhood covered, however it was granted (for
    membership tests and choice lists). ``district_ids`` / ``subdistrict_ids`` hold the
    districts and subdistricts granted whole, and ``direct_neighbourhood_ids`` the
    neighbourhoods covered otherwise (a grant on the neighbourhood or on an area; None:
    all of ``neighbourhood_ids``): a model with district and subdistrict columns is
    filtered on those three, a predicate whose size is the number of grants.
    """

    everything: bool = False
    neighbourhood_ids: frozenset[int] = field(default_factory=frozenset)
    estate_ids: frozenset[int] = field(default_factory=frozenset)
    building_ids: frozenset[int] = field(default_factory=frozenset)
    district_ids: frozenset[int] = field(default_factory=frozenset)
    subdistrict_ids: frozenset[int] = field(default_factory=frozenset)
    direct_neighbourhood_ids: frozenset[int] | None = None

    @property
    def narrow_neighbourhood_ids(self) -> frozenset[int]:
        """The neighbourhoods covered other than through a district or subdistrict whole."""
        if self.direct_neighbourhood_ids is None:
            return self.neighbourhood_ids
        return self.direct_neighbourhood_ids

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
        subdistrict: str | None = None,
        district: str | None = None,
    ) -> Q:
        """A Q object over the given field paths (e.g. ``neighbourhood="neighbourhood_id"``).

        A field path left out means a grant of that kind never reaches the model. With
        both ``subdistrict`` and ``district`` paths, the districts and subdistricts granted
        whole are filtered on those and the neighbourhood path takes the rest only.
        """
        if self.everything:
            return Q()
        q = Q(pk__in=[])
        neighbourhood_ids = self.neighbourhood_ids
        if neighbourhood and subdistrict and district:
            neighbourhood_ids = self.narrow_neighbourhood_ids
            if self.district_ids:
                q |= Q(**{f"{district}__in": sorted(self.district_ids)})
            if self.subdistrict_ids:
                q |= Q(**{f"{subdistrict}__in": sorted(self.subdistrict_ids)})
        if neighbourhood and neighbourhood_ids:
            q |= Q(**{f"{neighbourhood}__in": sorted(neighbourhood_ids)})
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
            district_ids=self.district_ids | other.district_ids,
            subdistrict_ids=self.subdistrict_ids | other.subdistrict_ids,
            # a neighbourhood direct in one and under a whole grant of the other is
            # listed once too many: the predicate is larger, never wrong
            direct_neighbourhood_ids=self.narrow_neighbourhood_ids | other.narrow_neighbourhood_ids,
        )

    def as_entry(self) -> tuple:
        """The scope as plain lists (a cache entry); :meth:`from_entry` reads it back."""
        direct = self.direct_neighbourhood_ids
        return (
            sorted(self.neighbourhood_ids),
            sorted(self.estate_ids),
            sorted(self.building_ids),
            sorted(self.district_ids),
            sorted(self.subdistrict_ids),
            None if direct is None else sorted(direct),
        )

    @classmethod
    def from_entry(cls, entry) -> Scope | None:
        if not (isinstance(entry, tuple) and len(entry) == 6):
            return None
        neighbourhoods, estates, buildings, districts, subdistricts, direct = entry
        return cls(
            neighbourhood_ids=frozenset(neighbourhoods),
            estate_ids=frozenset(estates),
            building_ids=frozenset(buildings),
            district_ids=frozenset(districts),
            subdistrict_ids=frozenset(subdistricts),
            direct_neighbourhood_ids=None if direct is None else frozenset(direct),
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
    under_whole: set[int] = set()  # neighbourhoods covered through a whole grant
    for model, ids in by_model.items():
        kind, covered = _PLACES[model](ids)
        covered = set(covered)
        kinds[kind].update(covered)
        whole = _WHOLE.get(model)
        if whole is not None:
            kinds[whole].update(ids)
            under_whole.update(covered)
    return Scope(
        neighbourhood_ids=frozenset(kinds[NEIGHBOURHOOD]),
        estate_ids=frozenset(kinds[ESTATE]),
        building_ids=frozenset(kinds[BUILDING]),
        district_ids=frozenset(kinds[DISTRICT]),
        subdistrict_ids=frozenset(kinds[SUBDISTRICT]),
        direct_neighbourhood_ids=frozenset(kinds[NEIGHBOURHOOD] - under_whole),
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
        cache[codenames] = _shared_scope(principal, codenames)
    return cache[codenames]


def clear_scope_cache(user) -> None:
    """Forget ``user``'s cached scopes, in this request and in the shared cache
    (after their grants change)."""
    user.__dict__.pop("_linli_scope_cache", None)
    if getattr(user, "pk", None) is not None:
        _bump(_user_version_key(user.pk))


def places_changed(**_signal) -> None:
    """Forget every cached scope: the place tree changed (a signal receiver)."""
    _bump(PLACES_VERSION_KEY)


# --- the shared cache ----------------------------------------------------------------------

CACHE_ALIAS = "default"
DEFAULT_CACHE_SECONDS = 300
PLACES_VERSION_KEY = "scope:v:places"
VERSION_SECONDS = 24 * 3600  # a lost version is drawn anew, which only drops entries
_WHAT = "scope lookups"


def _cache():
    from django.core.cache import caches

    return caches[CACHE_ALIAS]


def _user_version_key(user_id) -> str:
    return f"scope:v:user:{user_id}"


def _entry_key(user, codenames: tuple[str, ...]) -> str:
    # date_joined tells apart two accounts that had the same id (a test database)
    joined = getattr(user, "date_joined", None)
    stamp = int(joined.timestamp() * 1_000_000) if joined is not None else ""
    return f"scope:{user.pk}:{stamp}:{','.join(codenames)}"


def _set_version(key: str) -> None:
    guard_for(CACHE_ALIAS).call(
        _WHAT, _cache().set, key, secrets.token_hex(8), timeout=VERSION_SECONDS
    )


def _bump(key: str) -> None:
    """A new version now, and again on commit: a request that read the grants before
    the commit and cached them under the first new version is not believed."""
    _set_version(key)
    transaction.on_commit(lambda: _set_version(key))


def _versions(found: dict, keys: list[str]) -> tuple[str, ...] | None:
    """The versions under ``keys`` (those missing drawn now), or None without the cache."""
    guard = guard_for(CACHE_ALIAS)
    versions = []
    for key in keys:
        value = found.get(key)
        if value is None:
            token = secrets.token_hex(8)
            added = guard.call(_WHAT, _cache().add, key, token, timeout=VERSION_SECONDS)
            if added is None:
                return None
            value = token if added else guard.call(_WHAT, _cache().get, key)
            if value is None:
                return None
        versions.append(value)
    return tuple(versions)


def _cached_scope(version_keys: list[str], entry_key: str, resolve: Callable[[], Scope]) -> Scope:
    """The scope under ``entry_key`` while ``version_keys`` hold, else ``resolve()``d and
    stored. One cache round trip when it is there; without the cache, ``resolve()``."""
    guard = guard_for(CACHE_ALIAS)
    found = guard.call(_WHAT, _cache().get_many, [*version_keys, entry_key])
    if found is None:  # no cache: the database, as without one
        return resolve()
    versions = _versions(found, version_keys)
    entry = found.get(entry_key)
    if versions is not None and isinstance(entry, tuple) and len(entry) == 2:
        entry_versions, stored = entry
        cached = Scope.from_entry(stored) if entry_versions == versions else None
        if cached is not None:
            return cached
    scope = resolve()
    if versions is not None:
        entry = (versions, scope.as_entry())
        seconds = getattr(settings, "LINLI_SCOPE_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)
        guard.call(_WHAT, _cache().set, entry_key, entry, timeout=seconds)
    return scope


def _shared_scope(user, codenames: tuple[str, ...]) -> Scope:
    """The user's scope from the shared cache, or resolved from their guardian grants."""
    return _cached_scope(
        [_user_version_key(user.pk), PLACES_VERSION_KEY],
        _entry_key(user, codenames),
        lambda: scope_from_grants(_guardian_grants(user, codenames)),
    )


def place_scope(place_type_id: int, place_id: int) -> Scope:
    """What a grant on one place covers (an API key's jurisdiction), cached while the
    places' version holds."""
    return _cached_scope(
        [PLACES_VERSION_KEY],
        f"scope:place:{place_type_id}:{place_id}",
        lambda: scope_from_grants([(place_type_id, place_id)]),
    )


# --- grants changed outside accounts.services (guardian rows, group membership) -------------


def _user_grant_changed(sender, instance, **_kwargs) -> None:
    _bump(_user_version_key(instance.user_id))


def _group_grant_changed(sender, **_kwargs) -> None:
    _bump(PLACES_VERSION_KEY)  # rare: every member's scope, simplest by the global version


def _membership_changed(sender, instance, action, reverse, pk_set, **_kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse or instance.pk is None:  # a group's members changed
        _bump(PLACES_VERSION_KEY)
    else:
        _bump(_user_version_key(instance.pk))


def _connect_grant_signals() -> None:
    from django.contrib.auth import get_user_model
    from guardian.models import GroupObjectPermission, UserObjectPermission

    for signal in (post_save, post_delete):
        signal.connect(
            _user_grant_changed, sender=UserObjectPermission, dispatch_uid="linli-scope-uop"
        )
        signal.connect(
            _group_grant_changed, sender=GroupObjectPermission, dispatch_uid="linli-scope-gop"
        )
    groups = getattr(get_user_model(), "groups", None)
    if groups is not None:
        m2m_changed.connect(
            _membership_changed, sender=groups.through, dispatch_uid="linli-scope-groups"
        )
