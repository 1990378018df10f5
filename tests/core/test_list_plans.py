"""The dwellings and residents lists choose their page on an index with LIMIT first, for a
district-wide principal too: neither sorts nor groups the whole scope (tests/plans.py)."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from accounts.models import Role
from accounts.services import role_grant
from buildings.api.views import DwellingViewSet
from buildings.models import Dwelling
from core.api.lists import values_shape
from core.scoping import scope_for
from residents.models import Household, Relation, Resident
from tests.factories import UserFactory
from tests.plans import assert_page_plan, explain

pytestmark = pytest.mark.django_db

ROWS = 1500  # enough that PostgreSQL's planner prefers an index walk to reading it all


@pytest.fixture
def district_staff(world):
    staff = UserFactory(is_staff=True)
    role_grant(user=staff, role=Role.DISTRICT_STAFF, place=world.district)
    return staff


@pytest.fixture
def many(world):
    side = world.a
    template = dict(
        building_id=side.building.pk,
        estate_id=side.estate.pk,
        neighbourhood_id=side.neighbourhood.pk,
    )
    dwellings = Dwelling.objects.bulk_create(
        Dwelling(room=f"{i:05d}", floor=1 + i % 30, floor_area=60, **template) for i in range(ROWS)
    )
    households = Household.objects.bulk_create(
        Household(dwelling_id=d.pk, **template) for d in dwellings[:500]
    )
    Resident.objects.bulk_create(
        Resident(
            household_id=h.pk,
            dwelling_id=h.dwelling_id,
            name=f"居民{i}",
            relation=Relation.HEAD if i < len(households) else Relation.CHILD,
            **template,
        )
        for i, h in enumerate(households * 3)
    )
    return world


def test_the_dwellings_api_page_walks_an_index(many, district_staff):
    scope = scope_for(district_staff, DwellingViewSet.scope_permission)
    assert scope.district_ids  # the district grant is kept whole
    queryset = scope.filter(DwellingViewSet().safely_get_queryset()).order_by("id")
    shape = values_shape(DwellingViewSet.serializer_class)
    assert_page_plan(queryset.values(*shape.paths)[:51])


def test_the_resident_changelist_page_walks_an_index(many, district_staff):
    request = RequestFactory().get("/admin/residents/resident/")
    request.user = district_staff
    model_admin = site._registry[Resident]
    queryset = model_admin.get_queryset(request)
    ordering = model_admin.get_ordering(request) or Resident._meta.ordering
    assert_page_plan(queryset.order_by(*ordering)[:100])


def test_the_helper_fails_a_page_sorted_over_the_whole_scope(many, district_staff):
    """The helper itself can fail: ordering on an unindexed column must sort every row."""
    scope = scope_for(district_staff, "buildings.manage_neighbourhood")
    sorted_all = scope.filter(Dwelling.objects.all()).order_by("floor_area", "room")[:50]
    with pytest.raises(AssertionError):
        assert_page_plan(sorted_all)
    assert explain(sorted_all)
