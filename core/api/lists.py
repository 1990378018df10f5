"""The fast list path of the API: a page of plain dicts, shaped like the serializer's output.

A list endpoint's cost should be the page query and little else. Building a model instance
per row and per joined model (a page of 50 dwellings is about 200 instances, each parsing
timestamps nobody reads) and walking DRF's ModelSerializer field by field costs several
times the query itself. :class:`ValuesListMixin` reads the page with ``.values()`` over
the paths the serializer's fields name (``building.number`` -> ``building__number``) and
turns each row into the same JSON the serializer makes, with the serializer's own field
objects for the values that need it (decimals, dates, times); plain strings, numbers and
booleans go through as they are.

It applies by itself to a serializer made only of fields it can read from one row
(model fields, relation ids, dotted sources, annotations); a serializer with a method
field, a nested serializer, a many-relation or a property falls back to the ordinary
path, and :func:`values_shape` says why. Either way the output is the same, which the
contract test checks for every list endpoint (tests/core/test_values_lists.py).

Counts and other figures per row belong in the viewset's queryset as correlated
subqueries (:class:`SubqueryCount`), so that the database computes them for the page's
rows only, after ``LIMIT``, never by grouping the whole scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import IntegerField, OuterRef, Subquery
from rest_framework import fields as drf_fields
from rest_framework import relations, serializers
from rest_framework.response import Response

# Representations that give a ``.values()`` value back as it is (a str, an int, a bool).
_PLAIN = {
    drf_fields.CharField.to_representation,
    drf_fields.IntegerField.to_representation,
    drf_fields.BooleanField.to_representation,
}


@dataclass(frozen=True)
class Shape:
    """How to turn one ``.values()`` row into the serializer's output."""

    paths: tuple[str, ...]  # the values() paths to select
    #: (output name, path, convert, guard): ``guard`` is the path of a nullable relation
    #: the source goes through; when it is null, DRF leaves the field out, and so do we
    columns: tuple[tuple[str, str, Callable | None, str | None], ...]

    def rows(self, rows) -> list[dict]:
        out = []
        columns = self.columns
        for row in rows:
            item = {}
            for name, path, convert, guard in columns:
                if guard is not None and row[guard] is None:
                    continue
                value = row[path]
                item[name] = value if value is None or convert is None else convert(value)
            out.append(item)
        return out


@dataclass(frozen=True)
class NoShape:
    """Why a serializer cannot be read from ``.values()`` (the ordinary path serves it)."""

    reason: str


def _field_shape(name: str, field, model) -> tuple | str | None:
    """(values path, converter, null guard) for one serializer field, None for a field not in the
    output, or the reason it cannot be read from ``.values()``."""
    if getattr(field, "write_only", False):
        return None
    if isinstance(field, (serializers.BaseSerializer, relations.ManyRelatedField)):
        return f"{name}: a nested serializer or a many-relation"
    if isinstance(field, drf_fields.SerializerMethodField):
        return f"{name}: a method field"
    if field.source == "*":
        return f"{name}: the whole object as its source"
    parts = field.source.split(".")
    display = _display_of(model, parts)
    if display is not None:
        return display
    is_id = isinstance(field, relations.PrimaryKeyRelatedField) and field.pk_field is None
    if isinstance(field, relations.RelatedField) and not is_id:
        return f"{name}: a related field other than a primary key"
    path = _values_path(model, parts, relation_last=is_id)
    if path is None:
        return f"{name}: {field.source} is not a column, a relation path or an annotation"
    plain = is_id or type(field).to_representation in _PLAIN
    return path, None if plain else field.to_representation, _null_guard(model, parts, field)


def _null_guard(model, parts: list[str], field) -> str | None:
    """The path of the first nullable relation a dotted source crosses (where DRF skips
    the field when it is null), unless the field has a default or allows null."""
    if len(parts) < 2 or field.default is not drf_fields.empty or field.allow_null:
        return None
    names = []
    for part in parts[:-1]:
        relation = model._meta.get_field(part)
        names.append(relation.name)
        if relation.null:
            return "__".join(names)
        model = relation.related_model
    return None


def _values_path(model, parts: list[str], *, relation_last: bool = False) -> str | None:
    """The ``.values()`` path of a dotted source through forward relations: a column, a
    foreign key's id (``building_id`` or, for a primary-key field, ``building``), or a
    bare name the model lacks (an annotation of the queryset, checked when it runs)."""
    names = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        field = _model_field(model, part)
        if field is None:
            bare = index == 0 and last and not hasattr(model, part)
            return part if bare else None
        if field.is_relation and (field.many_to_many or field.one_to_many):
            return None
        names.append(field.name)
        if field.is_relation and part != field.attname:
            if last and not relation_last:
                return None  # the object itself: a serializer field would str() it
            model = field.related_model
        elif not last:
            return None
    return "__".join(names)


def _model_field(model, name):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        for field in model._meta.concrete_fields:
            if field.attname == name:
                return field
    return None


def _display_of(model, parts: list[str]) -> tuple[str, Callable] | None:
    """``get_status_display`` on a choice field: its value, shown as the choice label."""
    *relations_, last = parts
    if not (last.startswith("get_") and last.endswith("_display")):
        return None
    target = [*relations_, last[4:-8]]
    path = _values_path(model, target)
    owner = model
    for part in relations_:
        owner = owner._meta.get_field(part).related_model
    field = _model_field(owner, target[-1])
    if path is None or field is None or not field.choices:
        return None
    labels = dict(field.flatchoices)
    return path, lambda value: str(labels.get(value, value)), None


@cache
def values_shape(serializer_class) -> Shape | NoShape:
    """The :class:`Shape` of ``serializer_class``'s output, or :class:`NoShape`."""
    serializer = serializer_class()
    model = getattr(getattr(serializer_class, "Meta", None), "model", None)
    if model is None:
        return NoShape("not a model serializer")
    columns, paths = [], []
    for name, field in serializer.fields.items():
        found = _field_shape(name, field, model)
        if found is None:
            continue
        if isinstance(found, str):
            return NoShape(found)
        path, convert, guard = found
        columns.append((name, path, convert, guard))
        for needed in (path, guard):
            if needed is not None and needed not in paths:
                paths.append(needed)
    return Shape(paths=tuple(paths), columns=tuple(columns))


class ValuesListMixin:
    """``list`` through :func:`values_shape` when the serializer allows it (see the module
    docstring); the viewset's filters, scope and cursor pagination apply unchanged."""

    def list(self, request, *args, **kwargs):
        shape = values_shape(self.get_serializer_class())
        queryset = self.filter_queryset(self.get_queryset())
        if isinstance(shape, NoShape) or queryset._prefetch_related_lookups:
            return super().list(request, *args, **kwargs)
        rows = queryset.values(*shape.paths)
        page = self.paginate_queryset(rows)
        if page is not None:
            return self.get_paginated_response(shape.rows(page))
        return Response(shape.rows(rows))


class SubqueryCount(Subquery):
    """``COUNT(*)`` of ``queryset`` (correlated with ``OuterRef``) as a column: evaluated
    for the rows the outer query returns, so a page's counts cost the page only.

    ``SubqueryCount(Through.objects.filter(dwelling_id=OuterRef("pk")))``
    """

    template = "COALESCE((SELECT COUNT(*) FROM (%(subquery)s) _counted), 0)"
    output_field = IntegerField()

    def __init__(self, queryset: models.QuerySet, **extra):
        super().__init__(queryset.order_by().values("pk"), output_field=IntegerField(), **extra)


def related_count(model: type[models.Model], relation: str) -> SubqueryCount:
    """A :class:`SubqueryCount` of the rows of ``model``'s many-to-many ``relation`` per row
    (``related_count(Dwelling, "owners")``)."""
    field = model._meta.get_field(relation)
    through = field.remote_field.through
    own = field.m2m_field_name()
    return SubqueryCount(through.objects.filter(**{f"{own}_id": OuterRef("pk")}))
