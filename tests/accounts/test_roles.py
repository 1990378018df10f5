"""role_grant / role_revoke with overlapping roles.

A role is a bundle of place permissions; two roles of one user can share some
(CADRE and GRID_WORKER both carry handle_issues and view_roster). Revoking one
role must leave every permission another role of the user still needs on the
same place, must not touch other places, and revoking the last role removes
everything.

Permissions are checked on fresh user objects (no guardian or scope cache) with
guardian's ``has_perm`` and with ``core.scoping.scope_for``.
"""

from __future__ import annotations

import pytest

from accounts.models import Role, RoleAssignment, User
from accounts.services import role_grant, role_revoke
from core.scoping import scope_for
from tests.factories import EstateFactory, UserFactory

pytestmark = pytest.mark.django_db

MANAGE = "buildings.manage_neighbourhood"
ISSUES = "buildings.handle_issues"
ROSTER = "buildings.view_roster"
ALL_PERMS = (MANAGE, ISSUES, ROSTER)

# What the product gives each role (written out here, not read from accounts.roles).
CADRE_PERMS = {MANAGE, ISSUES, ROSTER}
GRID_PERMS = {ISSUES, ROSTER}


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def perms_on(user, place) -> set[str]:
    account = fresh(user)
    return {perm for perm in ALL_PERMS if account.has_perm(perm, place)}


def neighbourhoods_for(user, perm) -> set[int]:
    return set(scope_for(fresh(user), perm).neighbourhood_ids)


def assignment(user, role, place) -> RoleAssignment:
    return next(
        a
        for a in RoleAssignment.objects.filter(user=user, role=role, place_id=place.pk)
        if a.place == place
    )


@pytest.fixture
def both(world):
    """A user who is CADRE and GRID_WORKER of neighbourhood A."""
    user = UserFactory(name="身兼两职")
    place = world.a.neighbourhood
    role_grant(user=user, role=Role.CADRE, place=place)
    role_grant(user=user, role=Role.GRID_WORKER, place=place)
    assert perms_on(user, place) == CADRE_PERMS
    return user


def test_revoking_the_grid_worker_role_keeps_every_cadre_permission(world, both):
    place = world.a.neighbourhood
    role_revoke(assignment=assignment(both, Role.GRID_WORKER, place))

    assert perms_on(both, place) == CADRE_PERMS
    for perm in ALL_PERMS:
        assert neighbourhoods_for(both, perm) == {place.pk}, perm
    assert [a.role for a in RoleAssignment.objects.filter(user=both)] == [Role.CADRE]


def test_revoking_the_cadre_role_keeps_the_grid_worker_permissions(world, both):
    place = world.a.neighbourhood
    role_revoke(assignment=assignment(both, Role.CADRE, place))

    assert perms_on(both, place) == GRID_PERMS
    assert neighbourhoods_for(both, ISSUES) == {place.pk}
    assert neighbourhoods_for(both, ROSTER) == {place.pk}
    assert neighbourhoods_for(both, MANAGE) == set()
    assert scope_for(fresh(both), MANAGE).is_empty


@pytest.mark.parametrize("first", [Role.CADRE, Role.GRID_WORKER])
def test_revoking_the_last_role_removes_the_permissions(world, both, first):
    place = world.a.neighbourhood
    second = Role.GRID_WORKER if first == Role.CADRE else Role.CADRE
    role_revoke(assignment=assignment(both, first, place))
    role_revoke(assignment=assignment(both, second, place))

    assert perms_on(both, place) == set()
    for perm in ALL_PERMS:
        assert scope_for(fresh(both), perm).is_empty, perm
    assert not RoleAssignment.objects.filter(user=both).exists()


def test_roles_on_different_neighbourhoods_do_not_interfere(world):
    user = UserFactory()
    a, b = world.a.neighbourhood, world.b.neighbourhood
    role_grant(user=user, role=Role.CADRE, place=a)
    role_grant(user=user, role=Role.GRID_WORKER, place=b)
    assert perms_on(user, a) == CADRE_PERMS
    assert perms_on(user, b) == GRID_PERMS

    # B's grid-worker role goes: A's cadre permissions stay, nothing is left on B
    role_revoke(assignment=assignment(user, Role.GRID_WORKER, b))
    assert perms_on(user, a) == CADRE_PERMS
    assert perms_on(user, b) == set()
    for perm in ALL_PERMS:
        assert neighbourhoods_for(user, perm) == {a.pk}, perm

    # and the other way round: A's cadre role goes, B's grid-worker role stays
    role_grant(user=user, role=Role.GRID_WORKER, place=b)
    role_revoke(assignment=assignment(user, Role.CADRE, a))
    assert perms_on(user, a) == set()
    assert perms_on(user, b) == GRID_PERMS
    assert neighbourhoods_for(user, ROSTER) == {b.pk}
    assert neighbourhoods_for(user, MANAGE) == set()


def test_a_role_on_a_place_inside_another_is_its_own(world):
    """A grid worker of one estate who is also cadre of its neighbourhood."""
    user = UserFactory()
    neighbourhood = world.a.neighbourhood
    estate = EstateFactory(neighbourhood=neighbourhood, name="网格小区")
    role_grant(user=user, role=Role.CADRE, place=neighbourhood)
    role_grant(user=user, role=Role.GRID_WORKER, place=estate)

    role_revoke(assignment=assignment(user, Role.CADRE, neighbourhood))
    assert perms_on(user, neighbourhood) == set()
    assert perms_on(user, estate) == GRID_PERMS
    roster = scope_for(fresh(user), ROSTER)
    assert roster.neighbourhood_ids == set() and roster.estate_ids == {estate.pk}
    assert scope_for(fresh(user), MANAGE).is_empty

    role_grant(user=user, role=Role.CADRE, place=neighbourhood)
    role_revoke(assignment=assignment(user, Role.GRID_WORKER, estate))
    assert perms_on(user, estate) == set()  # guardian perms are per object
    assert perms_on(user, neighbourhood) == CADRE_PERMS
    assert scope_for(fresh(user), ROSTER).estate_ids == set()
    assert scope_for(fresh(user), ROSTER).neighbourhood_ids == {neighbourhood.pk}


def test_revoking_ones_role_leaves_another_users_same_role(world):
    place = world.a.neighbourhood
    first, second = UserFactory(), UserFactory()
    for user in (first, second):
        role_grant(user=user, role=Role.GRID_WORKER, place=place)

    role_revoke(assignment=assignment(first, Role.GRID_WORKER, place))
    assert perms_on(first, place) == set()
    assert perms_on(second, place) == GRID_PERMS
    assert perms_on(world.a.cadre, place) == CADRE_PERMS


def test_granting_a_role_twice_and_revoking_it_once_removes_it(world):
    user = UserFactory()
    place = world.a.neighbourhood
    role_grant(user=user, role=Role.GRID_WORKER, place=place)
    role_grant(user=user, role=Role.GRID_WORKER, place=place)  # the same assignment
    assert RoleAssignment.objects.filter(user=user).count() == 1
    role_revoke(assignment=assignment(user, Role.GRID_WORKER, place))
    assert perms_on(user, place) == set()
