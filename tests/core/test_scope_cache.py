"""A user's scope is cached across requests, and every grant or place change shows at once.

``core.scoping.scope_for`` keeps the resolved Scope in the cache under the user, the
permissions and two versions: the user's (bumped by ``role_grant`` / ``role_revoke`` and
by any guardian grant row written) and the places' (bumped when a place is saved,
deleted or moved). Without Redis it resolves from the database, as before.
"""

from __future__ import annotations

import socket

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Role, RoleAssignment, User
from accounts.services import role_grant, role_revoke
from buildings.services import estate_move
from core import redis as core_redis
from core.redis import redis_settings
from core.scoping import PLACES_VERSION_KEY, scope_for
from tests.factories import EstateFactory, NeighbourhoodFactory, UserFactory

pytestmark = pytest.mark.django_db

PERM = "buildings.manage_neighbourhood"
ESTATES = "/api/v1/estates/"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    core_redis.reset_guards()
    yield
    cache.clear()
    core_redis.reset_guards()


def next_request(user) -> User:
    """The user as the next request sees them: a fresh instance."""
    return User.objects.get(pk=user.pk)


def guardian_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "guardian_" in q["sql"]]


def estates_seen(client) -> set[int]:
    response = client.get(ESTATES)
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_a_second_request_resolves_the_scope_without_guardian(world):
    client = signed_in(world.a.cadre)
    with CaptureQueriesContext(connection) as first:
        assert estates_seen(client) == {world.a.estate.pk}
    with CaptureQueriesContext(connection) as second:
        assert estates_seen(client) == {world.a.estate.pk}
    assert guardian_queries(first)
    assert guardian_queries(second) == []
    assert len(second) < len(first)


def test_the_cached_scope_is_the_resolved_one(world):
    first = scope_for(next_request(world.a.cadre), PERM)
    with CaptureQueriesContext(connection) as captured:
        second = scope_for(next_request(world.a.cadre), PERM)
    assert second == first
    assert second.neighbourhood_ids == frozenset({world.a.neighbourhood.pk})
    assert guardian_queries(captured) == []


def test_a_role_granted_or_revoked_changes_the_next_requests_scope(world):
    client = signed_in(world.a.cadre)
    assert estates_seen(client) == {world.a.estate.pk}
    assignment = role_grant(user=world.a.cadre, role=Role.CADRE, place=world.b.neighbourhood)
    assert estates_seen(client) == {world.a.estate.pk, world.b.estate.pk}
    role_revoke(assignment=assignment)
    assert estates_seen(client) == {world.a.estate.pk}
    role_revoke(assignment=RoleAssignment.objects.get(user=world.a.cadre))
    assert estates_seen(client) == set()


def test_a_direct_guardian_grant_changes_the_next_requests_scope(world):
    user = world.a.cadre
    assert scope_for(next_request(user), PERM).neighbourhood_ids == {world.a.neighbourhood.pk}
    assign_perm(PERM, user, world.b.neighbourhood)
    assert scope_for(next_request(user), PERM).neighbourhood_ids == {
        world.a.neighbourhood.pk,
        world.b.neighbourhood.pk,
    }
    remove_perm(PERM, user, world.b.neighbourhood)
    assert scope_for(next_request(user), PERM).neighbourhood_ids == {world.a.neighbourhood.pk}


def test_a_new_neighbourhood_under_a_subdistrict_grant_shows_on_the_next_request(world):
    user = UserFactory(name="街道干部")
    role_grant(user=user, role=Role.CADRE, place=world.subdistrict)
    client = signed_in(user)
    assert estates_seen(client) == {world.a.estate.pk, world.b.estate.pk}
    neighbourhood = NeighbourhoodFactory(subdistrict=world.subdistrict, name="丙居民区")
    estate = EstateFactory(neighbourhood=neighbourhood, name="丙花园")
    assert estates_seen(client) == {world.a.estate.pk, world.b.estate.pk, estate.pk}
    estate.delete()
    neighbourhood.delete()
    assert scope_for(next_request(user), PERM).neighbourhood_ids == {
        world.a.neighbourhood.pk,
        world.b.neighbourhood.pk,
    }


def test_a_place_move_draws_a_new_places_version(world, superuser):
    scope_for(next_request(world.a.cadre), PERM)
    before = cache.get(PLACES_VERSION_KEY)
    assert before is not None
    estate_move(estate=world.a.estate, neighbourhood=world.b.neighbourhood, by=superuser)
    assert cache.get(PLACES_VERSION_KEY) != before


def test_superusers_need_no_cache_entry(superuser):
    scope = scope_for(next_request(superuser), PERM)
    assert scope.everything
    assert not [name for name in cache._cache if ":scope:" in name and str(superuser.pk) in name]


def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_redis_scopes_resolve_from_the_database(world):
    user = world.a.cadre
    with override_settings(**redis_settings(f"redis://127.0.0.1:{refused_port()}/0")):
        core_redis.reset_guards()
        client = signed_in(user)
        with CaptureQueriesContext(connection) as captured:
            assert estates_seen(client) == {world.a.estate.pk}
        assert guardian_queries(captured)
        assignment = role_grant(user=user, role=Role.CADRE, place=world.b.neighbourhood)
        assert estates_seen(client) == {world.a.estate.pk, world.b.estate.pk}
        role_revoke(assignment=assignment)
        assert estates_seen(client) == {world.a.estate.pk}
    core_redis.reset_guards()
