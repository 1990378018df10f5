import pytest

from accounts.models import Role
from accounts.services import role_grant, role_revoke
from buildings.models import Building, Dwelling, Estate, Neighbourhood, Subdistrict
from core.scoping import scope_for
from tests.factories import EstateFactory, NeighbourhoodFactory, UserFactory

pytestmark = pytest.mark.django_db

MANAGE = "buildings.manage_neighbourhood"


def test_cadre_scope_is_their_neighbourhood(world):
    scope = scope_for(world.a.cadre, MANAGE)
    assert scope.neighbourhood_ids == {world.a.neighbourhood.pk}
    assert list(scope.filter(Dwelling.objects.all())) == [world.a.dwelling]


def test_scope_is_cached_per_user_object(world, django_assert_num_queries):
    scope_for(world.a.cadre, MANAGE)
    with django_assert_num_queries(0):
        scope_for(world.a.cadre, MANAGE)


def test_subdistrict_grant_covers_neighbourhoods_under_it(world):
    user = UserFactory()
    role_grant(user=user, role=Role.CADRE, place=world.subdistrict)
    scope = scope_for(user, MANAGE)
    assert scope.neighbourhood_ids == {world.a.neighbourhood.pk, world.b.neighbourhood.pk}
    assert set(scope.filter(Subdistrict.objects.all())) == {world.subdistrict}


def test_district_grant_covers_everything_below(world):
    user = UserFactory()
    role_grant(user=user, role=Role.DISTRICT_STAFF, place=world.district)
    other = NeighbourhoodFactory()  # another district altogether
    scope = scope_for(user, MANAGE)
    assert other.pk not in scope.neighbourhood_ids
    assert set(scope.filter(Neighbourhood.objects.all())) == {
        world.a.neighbourhood,
        world.b.neighbourhood,
    }


def test_estate_grant_covers_only_that_estate(world):
    staff = UserFactory()
    role_grant(user=staff, role=Role.PROPERTY_STAFF, place=world.a.estate)
    EstateFactory(neighbourhood=world.a.neighbourhood)
    scope = scope_for(staff, "buildings.handle_issues")
    assert scope.neighbourhood_ids == frozenset()
    assert list(scope.filter(Estate.objects.all())) == [world.a.estate]
    assert list(scope.filter(Building.objects.all())) == [world.a.building]
    # property staff do not manage the neighbourhood
    assert scope_for(staff, MANAGE).is_empty


def test_permission_is_per_codename(world):
    leader = UserFactory()
    role_grant(user=leader, role=Role.BUILDING_LEADER, place=world.a.building)
    assert scope_for(leader, MANAGE).is_empty
    assert scope_for(leader, "buildings.view_roster").building_ids == {world.a.building.pk}


def test_revoke_removes_the_grant(world):
    assignment = world.a.cadre.role_assignments.get()
    role_revoke(assignment=assignment)
    assert scope_for(world.a.cadre, MANAGE).is_empty


def test_superuser_sees_everything_and_anonymous_nothing(world, superuser):
    from django.contrib.auth.models import AnonymousUser

    assert scope_for(superuser, MANAGE).everything
    assert scope_for(AnonymousUser(), MANAGE).is_empty
    assert not scope_for(AnonymousUser(), MANAGE).filter(Dwelling.objects.all()).exists()


def test_inactive_user_has_no_scope(world):
    world.a.cadre.is_active = False
    assert scope_for(world.a.cadre, MANAGE).is_empty


def test_wrong_place_for_role_is_refused(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        role_grant(user=UserFactory(), role=Role.BUILDING_LEADER, place=world.a.estate)
