"""The seeded categories (issues/migrations/0002_seed_categories.py): twelve Open311
services, named in both languages, routed to a valid handler; seeding again changes
nothing, and going back removes the unused ones."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as global_apps

from issues.models import AttributeType, Category, CategoryAttribute, HandlerLevel

from .factories import IssueFactory

pytestmark = pytest.mark.django_db

seed_migration = importlib.import_module("issues.migrations.0002_seed_categories")

CODES = {
    "noise",
    "rubbish",
    "elevator-fault",
    "fire-passage",
    "ebike-charging",
    "illegal-building",
    "greenery",
    "parking",
    "street-light",
    "water-leak",
    "public-facility",
    "other",
}


def seeded():
    return Category.objects.filter(code__in=CODES)


def test_twelve_categories_named_in_both_languages_with_a_valid_handler():
    categories = list(seeded())
    assert {c.code for c in categories} == CODES
    for category in categories:
        assert category.name_zh and category.name_en, category.code
        assert category.group_zh and category.group_en, category.code
        assert category.description_zh and category.description_en, category.code
        assert category.handler_kind in HandlerLevel.values, category.code
        assert category.department_code, category.code
        assert 0 < category.acknowledge_hours < category.resolve_hours <= 168, category.code
        assert category.active
    by_code = {c.code: c for c in categories}
    assert by_code["elevator-fault"].name_zh == "电梯故障"
    hours = {code: (c.acknowledge_hours, c.resolve_hours) for code, c in by_code.items()}
    assert hours["elevator-fault"] == (2, 24)
    assert hours["fire-passage"] == (4, 48)
    assert by_code["illegal-building"].handler_kind == HandlerLevel.DEPARTMENT
    assert by_code["illegal-building"].department_code == "chengguan"
    assert by_code["other"].handler_kind == HandlerLevel.COMMITTEE
    assert by_code["fire-passage"].handler_kind == HandlerLevel.COMMITTEE
    assert by_code["water-leak"].handler_kind == HandlerLevel.PROPERTY
    assert len({c.position for c in categories}) == 12  # a fixed order


def test_the_attributes_are_open311_questions_with_keyed_values():
    trapped = CategoryAttribute.objects.get(category__code="elevator-fault", code="trapped")
    assert trapped.datatype == AttributeType.SINGLE and trapped.required
    assert [v["key"] for v in trapped.values] == ["yes", "no"]
    where = CategoryAttribute.objects.get(category__code="water-leak", code="where")
    assert [v["key"] for v in where.values] == ["ceiling", "wall", "pipe"]
    for attribute in CategoryAttribute.objects.filter(category__code__in=CODES):
        assert attribute.datatype in AttributeType.values
        assert attribute.description_zh and attribute.description_en
        for value in attribute.values:
            assert value["key"] and value["name_zh"] and value["name_en"], attribute
        if attribute.datatype in (AttributeType.SINGLE, AttributeType.MULTI):
            assert attribute.values, attribute


def test_seeding_again_changes_nothing_and_restores_edited_values():
    Category.objects.filter(code="noise").update(name_en="Loud", resolve_hours=1)
    before = CategoryAttribute.objects.count()
    seed_migration.seed(global_apps, None)
    seed_migration.seed(global_apps, None)
    assert seeded().count() == 12
    assert CategoryAttribute.objects.count() == before
    noise = Category.objects.get(code="noise")
    assert noise.name_en == "Noise" and noise.resolve_hours == 168


def test_going_back_removes_the_seeded_codes_no_report_uses():
    extra = Category.objects.create(
        code="mine", name_zh="自建", name_en="Mine", handler_kind=HandlerLevel.PROPERTY
    )
    used = Category.objects.get(code="parking")
    IssueFactory(category=used)
    seed_migration.unseed(global_apps, None)
    assert list(seeded()) == [used]
    assert Category.objects.filter(pk=extra.pk).exists()
    assert not CategoryAttribute.objects.filter(category__code="elevator-fault").exists()
    seed_migration.seed(global_apps, None)  # and forward again
    assert seeded().count() == 12
