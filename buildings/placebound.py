"""The one place-bound base: every row of every app that belongs to a place inherits it.

:class:`PlaceBound` carries the denormalised foreign keys to the district, the
subdistrict, the neighbourhood, the estate and the building, each indexed (a
foreign key's own index), so that scoping is one indexed filter whose size does not
grow with the jurisdiction: a grant on a district is ``district_id = 7``, not the
557 neighbourhoods under it. A model says which levels it has by keeping or
removing the inherited keys (``estate = None``, ``building = None`` for a row
bound to a neighbourhood only); everything else follows from that:

* :meth:`PlaceBound.scope_q` - the scope predicate (``core.scoping.Scope``): a
  level the model has is its own column, a level it lacks is reached through
  ``place_parents`` (a household code reaches its estate through its household),
  a level it has no path to is never reached by a grant of that kind;
* :meth:`PlaceBound.save` copies the ids from the first parent set in
  ``place_parents`` (a dwelling's from its building), so a new row starts in step
  (a save with ``update_fields`` that names no parent copies nothing); the district
  and subdistrict follow from the neighbourhood when the parent lacks them (an
  estate), and ``bulk_create`` fills them the same way for rows that lack them
  (:class:`PlaceBoundQuerySet`);
* :func:`regroup_neighbourhood` / :func:`regroup_subdistrict` carry a neighbourhood
  given to another subdistrict, or a subdistrict to another district, to every
  registered model (the place models call them when they are saved so);
* :meth:`PlaceBound.place_q` - the rows under one estate or building, which is
  what ``buildings.services.estate_move`` / ``building_move`` carry along.

Each app registers its concrete place-bound models once, from its
``AppConfig.ready()``, with :func:`register_place_bound`; the moves update every
registered model, and the system check ``buildings.E001`` fails when a concrete
model inherits the base without being registered (it would be left behind).

The place models are named by string ("buildings.Neighbourhood") because
``buildings.models`` itself inherits from this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from django.core import checks
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

DISTRICT, SUBDISTRICT = "district", "subdistrict"
NEIGHBOURHOOD, ESTATE, BUILDING = "neighbourhood", "estate", "building"
LEVELS = (DISTRICT, SUBDISTRICT, NEIGHBOURHOOD, ESTATE, BUILDING)
#: the levels every place-bound row carries, derived from its neighbourhood
WIDE_LEVELS = (DISTRICT, SUBDISTRICT)
#: the place keys a service sets itself: left out of ``clean_fields`` (a foreign key's
#: validation is a query per key and row)
PLACE_FIELDS = LEVELS

_REGISTRY: list[type[models.Model]] = []


def register_place_bound(*place_models: type[models.Model]) -> None:
    """Declare concrete subclasses of :class:`PlaceBound` (idempotent)."""
    for model in place_models:
        if not (isinstance(model, type) and issubclass(model, PlaceBound)):
            raise TypeError(f"{model!r} does not inherit buildings.placebound.PlaceBound")
        if model._meta.abstract or model._meta.proxy:
            raise TypeError(f"{model.__name__}: register concrete models only")
        if model not in _REGISTRY:
            _REGISTRY.append(model)


def place_bound_models() -> tuple[type[models.Model], ...]:
    """The registered place-bound models, in registration order."""
    return tuple(_REGISTRY)


def is_registered(model: type[models.Model]) -> bool:
    return model in _REGISTRY


def wide_ids(neighbourhood_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """{neighbourhood id: (subdistrict id, district id)} for the given neighbourhoods."""
    from buildings.models import Neighbourhood

    rows = Neighbourhood.objects.filter(pk__in=set(neighbourhood_ids)).values_list(
        "pk", "subdistrict_id", "subdistrict__district_id"
    )
    return {pk: (subdistrict, district) for pk, subdistrict, district in rows}


class PlaceBoundQuerySet(models.QuerySet):
    """``bulk_create`` fills the district and subdistrict of rows that lack them from
    their neighbourhood (one query per call), as ``save()`` does one row at a time."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        lacking = [
            o for o in objs if o.neighbourhood_id and not (o.district_id and o.subdistrict_id)
        ]
        if lacking:
            found = wide_ids(o.neighbourhood_id for o in lacking)
            for obj in lacking:
                obj.subdistrict_id, obj.district_id = found[obj.neighbourhood_id]
        return super().bulk_create(objs, *args, **kwargs)


class PlaceBound(models.Model):
    """Abstract base of every place-bound row (see the module docstring)."""

    district = models.ForeignKey(
        "buildings.District",
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=True,
        verbose_name=_("district"),
    )
    subdistrict = models.ForeignKey(
        "buildings.Subdistrict",
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=True,
        verbose_name=_("subdistrict"),
    )
    neighbourhood = models.ForeignKey(
        "buildings.Neighbourhood",
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=True,
        verbose_name=_("neighbourhood"),
    )
    estate = models.ForeignKey(
        "buildings.Estate",
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=True,
        verbose_name=_("estate"),
    )
    building = models.ForeignKey(
        "buildings.Building",
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=True,
        verbose_name=_("building"),
    )

    #: foreign keys to the rows the place ids are copied from on save; the first one
    #: set wins, and the levels the model lacks are reached through them
    place_parents: ClassVar[tuple[str, ...]] = ()
    #: the level this model is itself a place of (a Building is the building level)
    place_self: ClassVar[str | None] = None

    objects = PlaceBoundQuerySet.as_manager()

    class Meta:
        abstract = True

    # --- levels and paths ------------------------------------------------------------

    @classmethod
    def place_levels(cls) -> tuple[str, ...]:
        """The levels the model carries as its own columns, e.g. ("neighbourhood",)."""
        names = {field.name for field in cls._meta.concrete_fields}
        return tuple(level for level in LEVELS if level in names)

    @classmethod
    def place_q(cls, level: str, ids: Iterable[int]) -> Q | None:
        """Rows bound to one of ``ids`` at ``level``; None when no path leads there."""
        ids = sorted(set(ids))
        if level == cls.place_self:
            return Q(pk__in=ids)
        if level in cls.place_levels():
            return Q(**{f"{level}_id__in": ids})
        condition, earlier = None, Q()
        for parent in cls.place_parents:  # the first parent set decides
            parent_model = cls._meta.get_field(parent).related_model
            if parent_model is cls or not issubclass(parent_model, PlaceBound):
                continue
            inner = parent_model.place_q(level, ids)
            if inner is None:
                continue
            prefixed = _prefix(inner, parent)
            branch = earlier & prefixed
            condition = branch if condition is None else condition | branch
            earlier &= Q(**{f"{parent}__isnull": True})
        return condition

    @classmethod
    def scope_q(cls, scope) -> Q:
        """The rows a :class:`core.scoping.Scope` covers."""
        if scope.everything:
            return Q()
        condition = Q(pk__in=[])
        levels = [
            (DISTRICT, scope.district_ids),
            (SUBDISTRICT, scope.subdistrict_ids),
            (NEIGHBOURHOOD, scope.narrow_neighbourhood_ids),
        ]
        if any(ids and cls.place_q(level, ids) is None for level, ids in levels[:2]):
            # no path to the wide levels: every neighbourhood covered, by its own id
            levels = [(NEIGHBOURHOOD, scope.neighbourhood_ids)]
        for level, ids in (*levels, (ESTATE, scope.estate_ids), (BUILDING, scope.building_ids)):
            if ids:
                reached = cls.place_q(level, ids)
                if reached is not None:
                    condition |= reached
        return condition

    # --- keeping a new row in step ---------------------------------------------------

    @classmethod
    def from_db(cls, db, field_names, values):
        row = super().from_db(db, field_names, values)
        row._neighbourhood_loaded = row.__dict__.get("neighbourhood_id")
        return row

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None:
            self.copy_place_from_parent()
            self.copy_wide_from_neighbourhood()
        elif set(update_fields) & {*self.place_parents, NEIGHBOURHOOD, "neighbourhood_id"}:
            # a save that writes a parent writes the ids copied from it too
            self.copy_place_from_parent()
            self.copy_wide_from_neighbourhood()
            copied = [level for level in self.place_levels() if level not in self.place_parents]
            kwargs["update_fields"] = [*update_fields, *copied]
        # a save of other fields only (handled_at, a note ...) cannot have changed
        # the parent: nothing is copied, so no query
        super().save(*args, **kwargs)

    def copy_wide_from_neighbourhood(self) -> None:
        """Set the district and subdistrict from the neighbourhood when they are unset or
        the neighbourhood is not the one loaded (a query then; none otherwise)."""
        neighbourhood_id = self.neighbourhood_id
        if neighbourhood_id is None:
            return
        loaded = getattr(self, "_neighbourhood_loaded", None)
        in_step = loaded == neighbourhood_id or (loaded is None and self._state.adding)
        if self.district_id and self.subdistrict_id and in_step:
            return
        self.subdistrict_id, self.district_id = wide_ids([neighbourhood_id])[neighbourhood_id]
        self._neighbourhood_loaded = neighbourhood_id

    def copy_place_from_parent(self) -> None:
        """Copy the place ids from the first parent set (a query; nothing if none is set)."""
        for parent in self.place_parents:
            field = self._meta.get_field(parent)
            parent_id = getattr(self, field.attname)
            if parent_id is None:
                continue
            parent_fields = {f.name for f in field.related_model._meta.concrete_fields}
            levels = [
                level
                for level in self.place_levels()
                if level != parent and (level in parent_fields or level not in WIDE_LEVELS)
            ]
            if levels:
                values = (
                    field.related_model._base_manager.filter(pk=parent_id)
                    .values_list(*(f"{level}_id" for level in levels))
                    .get()
                )
                for level, value in zip(levels, values, strict=True):
                    setattr(self, f"{level}_id", value)
            if any(level not in levels for level in WIDE_LEVELS) and self.neighbourhood_id:
                # the parent (an estate) has no district columns: from the neighbourhood
                self.subdistrict_id, self.district_id = wide_ids([self.neighbourhood_id])[
                    self.neighbourhood_id
                ]
            self._neighbourhood_loaded = self.neighbourhood_id  # copied in step
            return

    # --- the registry check ----------------------------------------------------------

    @classmethod
    def check(cls, **kwargs):
        errors = super().check(**kwargs)
        if not cls._meta.abstract and not cls._meta.proxy and not is_registered(cls):
            errors.append(
                checks.Error(
                    f"{cls._meta.label} inherits PlaceBound but is not registered: moving "
                    "an estate or a building would leave its place ids behind.",
                    hint="Call buildings.placebound.register_place_bound("
                    f"{cls.__name__}) from its app's AppConfig.ready().",
                    obj=cls,
                    id="buildings.E001",
                )
            )
        if not all(level in cls.place_levels() for level in WIDE_LEVELS):
            errors.append(
                checks.Error(
                    f"{cls._meta.label} removes the district or subdistrict key of "
                    "PlaceBound; scoping filters district-wide grants on them.",
                    obj=cls,
                    id="buildings.E003",
                )
            )
        if NEIGHBOURHOOD not in cls.place_levels():
            errors.append(
                checks.Error(
                    f"{cls._meta.label} removes the neighbourhood key of PlaceBound; every "
                    "place-bound row is scoped by its neighbourhood.",
                    obj=cls,
                    id="buildings.E002",
                )
            )
        return errors


def regroup_neighbourhood(neighbourhood_id: int) -> dict[str, int]:
    """Carry a neighbourhood's current subdistrict and district to every registered
    model's rows bound to it (after the neighbourhood was given to another subdistrict).
    Returns {model label: rows updated}."""
    subdistrict_id, district_id = wide_ids([neighbourhood_id])[neighbourhood_id]
    return _set_wide(
        Q(neighbourhood_id=neighbourhood_id),
        subdistrict_id=subdistrict_id,
        district_id=district_id,
    )


def regroup_subdistrict(subdistrict_id: int, district_id: int) -> dict[str, int]:
    """Carry a subdistrict's new district to every registered model's rows under it."""
    return _set_wide(Q(subdistrict_id=subdistrict_id), district_id=district_id)


def _set_wide(condition: Q, **values) -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.filter(condition).update(**values)
        for model in place_bound_models()
    }


def _prefix(condition: Q, relation: str) -> Q:
    """``condition`` with every lookup moved behind ``relation`` (``estate_id`` ->
    ``household__estate_id``)."""
    prefixed = Q()
    prefixed.connector, prefixed.negated = condition.connector, condition.negated
    prefixed.children = [
        _prefix(child, relation) if isinstance(child, Q) else (f"{relation}__{child[0]}", child[1])
        for child in condition.children
    ]
    return prefixed
