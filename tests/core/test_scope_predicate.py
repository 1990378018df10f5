"""A grant on a district or subdistrict filters on the rows' denormalised district_id /
subdistrict_id (issue 8): the predicate's size does not grow with the jurisdiction, and
the columns stay in step through saves, bulk inserts, moves and regroupings."""

import pytest

from accounts.models import Role
from accounts.services import role_grant
from buildings.models import Dwelling, Estate, Neighbourhood
from buildings.placebound import place_bound_models
from buildings.services import estate_move
from core.scoping import Scope, scope_for
from residents.models import Household, Resident
from tests.factories import (
    BuildingFactory,
    DistrictFactory,
    DwellingFactory,
    EstateFactory,
    HouseholdFactory,
    NeighbourhoodFactory,
    ResidentFactory,
    SubdistrictFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MANAGE = "buildings.manage_neighbourhood"


def _params(queryset) -> int:
    _sql, params = queryset.query.sql_with_params()
    return len(params)


def _many_neighbourhoods(subdistrict, count):
    return [NeighbourhoodFactory(subdistrict=subdistrict) for _ in range(count)]


def test_a_district_grant_is_one_parameter_however_many_neighbourhoods(world):
    for _ in range(3):
        _many_neighbourhoods(SubdistrictFactory(district=world.district), 10)
    staff = UserFactory()
    role_grant(user=staff, role=Role.DISTRICT_STAFF, place=world.district)
    scope = scope_for(staff, MANAGE)
    assert len(scope.neighbourhood_ids) == 32  # membership still knows them all
    assert scope.district_ids == {world.district.pk}
    assert scope.direct_neighbourhood_ids == frozenset()
    for model in (Dwelling, Resident, Household, Estate, Neighbourhood):
        queryset = scope.filter(model.objects.all())
        assert _params(queryset) <= 2, (model, str(queryset.query))
        assert "district_id" in str(queryset.query)
    assert list(scope.filter(Dwelling.objects.all())) == list(
        Dwelling.objects.filter(neighbourhood__subdistrict__district=world.district)
    )


def test_a_subdistrict_grant_filters_on_the_subdistrict(world):
    _many_neighbourhoods(world.subdistrict, 20)
    cadre = UserFactory()
    role_grant(user=cadre, role=Role.CADRE, place=world.subdistrict)
    scope = scope_for(cadre, MANAGE)
    assert scope.subdistrict_ids == {world.subdistrict.pk}
    queryset = scope.filter(Resident.objects.all())
    assert _params(queryset) <= 2 and "subdistrict_id" in str(queryset.query)


def test_grants_of_several_kinds_cover_their_union(world):
    other_district = DistrictFactory()
    far = NeighbourhoodFactory(subdistrict=SubdistrictFactory(district=other_district))
    far_dwelling = DwellingFactory(
        building=BuildingFactory(estate=EstateFactory(neighbourhood=far))
    )
    user = UserFactory()
    role_grant(user=user, role=Role.CADRE, place=world.subdistrict)
    role_grant(user=user, role=Role.CADRE, place=far)
    scope = scope_for(user, MANAGE)
    assert scope.direct_neighbourhood_ids == {far.pk}
    seen = set(scope.filter(Dwelling.objects.all()))
    assert {world.a.dwelling, world.b.dwelling, far_dwelling} <= seen
    outsider = DwellingFactory()  # another district
    assert outsider not in seen


def test_the_scope_survives_the_shared_cache_whole(world):
    staff = UserFactory()
    role_grant(user=staff, role=Role.DISTRICT_STAFF, place=world.district)
    first = scope_for(staff, MANAGE)
    again = scope_for(type(staff).objects.get(pk=staff.pk), MANAGE)  # a new request
    assert again == first and again.district_ids == {world.district.pk}


def test_a_union_keeps_the_whole_grants():
    a = Scope(
        neighbourhood_ids=frozenset({1, 2}),
        district_ids=frozenset({7}),
        direct_neighbourhood_ids=frozenset(),
    )
    b = Scope(neighbourhood_ids=frozenset({3}))
    both = a.union(b)
    assert both.district_ids == {7} and both.narrow_neighbourhood_ids == {3}
    assert both.neighbourhood_ids == {1, 2, 3}
    assert Scope.from_entry(both.as_entry()) == both


# --- the columns stay in step ---------------------------------------------------------------


def _wide(row):
    row.refresh_from_db()
    return row.district_id, row.subdistrict_id


def test_a_new_row_takes_the_district_of_its_neighbourhood(world):
    resident = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling))
    expected = (world.district.pk, world.subdistrict.pk)
    assert _wide(resident) == expected
    assert _wide(resident.household) == expected
    assert _wide(world.a.dwelling) == expected


def test_bulk_create_fills_the_district_from_the_neighbourhood(world):
    built = DwellingFactory.build(building=world.a.building, room="9901")
    built.neighbourhood_id, built.estate_id = world.a.neighbourhood.pk, world.a.estate.pk
    assert built.district_id is None
    [created] = Dwelling.objects.bulk_create([built])
    assert _wide(created) == (world.district.pk, world.subdistrict.pk)


def _every_row_in_step():
    for model in place_bound_models():
        for row in model._base_manager.select_related("neighbourhood__subdistrict"):
            subdistrict = row.neighbourhood.subdistrict
            assert (row.subdistrict_id, row.district_id) == (
                subdistrict.pk,
                subdistrict.district_id,
            ), (model, row.pk)


def test_an_estate_moved_to_another_district_takes_its_rows(world):
    ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling))
    elsewhere = NeighbourhoodFactory(subdistrict=SubdistrictFactory(district=DistrictFactory()))
    estate_move(estate=world.a.estate, neighbourhood=elsewhere)
    _every_row_in_step()
    assert _wide(world.a.dwelling)[0] == elsewhere.subdistrict.district_id
    staff = UserFactory()
    role_grant(user=staff, role=Role.DISTRICT_STAFF, place=world.district)
    assert world.a.dwelling not in scope_for(staff, MANAGE).filter(Dwelling.objects.all())


def test_a_neighbourhood_given_to_another_subdistrict_takes_its_rows(world):
    ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling))
    other = SubdistrictFactory(district=DistrictFactory())
    neighbourhood = world.a.neighbourhood
    neighbourhood.subdistrict = other
    neighbourhood.save()
    _every_row_in_step()
    watcher = UserFactory()
    role_grant(user=watcher, role=Role.CADRE, place=other)
    seen = scope_for(watcher, MANAGE).filter(Resident.objects.all())
    assert seen.count() == Resident.objects.filter(neighbourhood=neighbourhood).count() > 0


def test_a_subdistrict_given_to_another_district_takes_its_rows(world):
    ResidentFactory(household=HouseholdFactory(dwelling=world.b.dwelling))
    new_district = DistrictFactory()
    subdistrict = world.subdistrict
    subdistrict.district = new_district
    subdistrict.save()
    _every_row_in_step()
    staff = UserFactory()
    role_grant(user=staff, role=Role.DISTRICT_STAFF, place=new_district)
    assert world.b.dwelling in scope_for(staff, MANAGE).filter(Dwelling.objects.all())
