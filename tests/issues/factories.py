"""Factories for issue reporting. ``IssueFactory`` writes a plain row (place copied from the
building, dues from the category); the services are what the workflow tests exercise."""

import datetime
import itertools

import factory
from django.utils import timezone

from issues.models import Category, CategoryAttribute, Department, HandlerLevel, Issue, Source
from tests.factories import BuildingFactory, HouseholdFactory, ResidentFactory, UserFactory

_codes = itertools.count(1)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"dept{n}")
    name = factory.Sequence(lambda n: f"城管{n}科")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.LazyFunction(lambda: f"cat-{next(_codes)}")
    name_zh = factory.Sequence(lambda n: f"类别{n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")
    handler_kind = HandlerLevel.PROPERTY
    acknowledge_hours = 24
    resolve_hours = 168


class CategoryAttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CategoryAttribute

    category = factory.SubFactory(CategoryFactory)
    code = factory.Sequence(lambda n: f"attr{n}")
    datatype = "string"
    description_zh = "问题"
    description_en = "Question"


class IssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Issue

    category = factory.SubFactory(CategoryFactory)
    building = factory.SubFactory(BuildingFactory)
    description = factory.Sequence(lambda n: f"楼道里堆了杂物 {n}")
    source = Source.WEB
    handler_level = factory.LazyAttribute(lambda o: o.category.handler_kind)
    acknowledge_due = factory.LazyAttribute(
        lambda o: timezone.now() + datetime.timedelta(hours=o.category.acknowledge_hours)
    )
    resolve_due = factory.LazyAttribute(
        lambda o: timezone.now() + datetime.timedelta(hours=o.category.resolve_hours)
    )
    due_at = factory.LazyAttribute(lambda o: o.acknowledge_due)


def verified_resident(dwelling, name="居民"):
    """A verified account linked to a registry record in ``dwelling``."""
    account = UserFactory(verified=True, name=name)
    resident = ResidentFactory(household=HouseholdFactory(dwelling=dwelling), name=name)
    resident.user = account
    resident.save()
    return account
