"""The home page's place counts: one query, cached per scope, exact after every change,
and still right when the cache is away."""

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accounts.services import role_grant
from buildings import selectors
from buildings.services import building_move, estate_move
from core import redis as core_redis
from core.scoping import scope_for
from tests.factories import (
    BuildingFactory,
    DwellingFactory,
    ElevatorFactory,
    EstateFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _view(client, user):
    """One view of the home page: its overview and the SQL it ran."""
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200
    return response.context["overview"], [query["sql"] for query in captured.captured_queries]


def _counts(overview):
    return (overview.estates, overview.buildings, overview.dwellings, overview.elevators)


def _count_queries(sqls):
    # the place counts only: the header's unread-notifications badge has its own count
    return [sql for sql in sqls if "COUNT(" in sql.upper() and "notifications_" not in sql]


def _add_estates(neighbourhood, number):
    for _ in range(number):
        building = BuildingFactory(estate=EstateFactory(neighbourhood=neighbourhood))
        DwellingFactory(building=building)
        DwellingFactory(building=building)
        ElevatorFactory(building=building)


def test_second_view_is_a_cache_hit_and_the_query_count_does_not_grow(client, world):
    cadre = UserFactory()
    role_grant(user=cadre, role=Role.CADRE, place=world.a.neighbourhood)
    _view(client, cadre)  # warms the process-wide caches (content types)

    seen = {}
    for estates in (1, 5):
        # a place change: the next view is a miss
        if estates > 1:
            _add_estates(world.a.neighbourhood, estates - 1)
        else:
            world.a.estate.save()
        miss, miss_sql = _view(client, cadre)
        hit, hit_sql = _view(client, cadre)
        assert miss.estates == hit.estates == estates
        assert _counts(miss) == _counts(hit)
        # a miss counts every kind of place in one query; a hit asks the database nothing
        assert len(_count_queries(miss_sql)) == 1
        assert _count_queries(hit_sql) == []
        # (the user's scope may come from a cache of its own, which a place change resets too)
        assert len(hit_sql) <= len(miss_sql) - 1
        seen[estates] = (len(miss_sql), len(hit_sql))
    assert seen[1] == seen[5]
    assert _counts(hit) == (5, 5, 9, 5)


def test_each_scope_has_its_own_counts(client, world):
    _add_estates(world.b.neighbourhood, 2)
    a, _sql = _view(client, world.a.cadre)
    b, _sql = _view(client, world.b.cadre)
    a_again, _sql = _view(client, world.a.cadre)
    assert _counts(a) == _counts(a_again) == (1, 1, 1, 1)
    assert _counts(b) == (3, 3, 5, 3)


def test_superuser_counts_everything(client, world, superuser):
    overview, _sql = _view(client, superuser)
    assert _counts(overview) == (2, 2, 2, 2)


def test_counts_are_right_on_the_view_after_a_change(client, world):
    cadre = world.a.cadre
    before, _sql = _view(client, cadre)
    assert _counts(before) == (1, 1, 1, 1)

    dwelling = DwellingFactory(building=world.a.building)
    after_add, _sql = _view(client, cadre)
    assert after_add.dwellings == 2

    dwelling.delete()
    after_delete, _sql = _view(client, cadre)
    assert after_delete.dwellings == 1

    ElevatorFactory(building=world.a.building)
    building = BuildingFactory(estate=world.a.estate)
    after_more, _sql = _view(client, cadre)
    assert _counts(after_more) == (1, 2, 1, 2)

    building_move(building=building, estate=world.b.estate)
    after_building_move, _sql = _view(client, cadre)
    assert _counts(after_building_move) == (1, 1, 1, 2)

    estate_move(estate=world.a.estate, neighbourhood=world.b.neighbourhood)
    after_estate_move, _sql = _view(client, cadre)
    assert _counts(after_estate_move) == (0, 0, 0, 0)
    theirs, _sql = _view(client, world.b.cadre)
    assert _counts(theirs) == (2, 3, 2, 3)


def test_counts_cached_before_a_commit_are_not_read_after_it(
    client, world, monkeypatch, django_capture_on_commit_callbacks
):
    """A view that counts while a change is not committed yet caches the old numbers;
    the version is bumped again on commit, so the next view counts afresh."""
    scope = scope_for(world.a.cadre, selectors.MANAGE)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        DwellingFactory(building=world.a.building)
        # another request, still seeing the snapshot before the commit, caches its counts
        with monkeypatch.context() as patch:
            patch.setattr(
                selectors, "_count_places", lambda scope: selectors.PlaceCounts(1, 1, 1, 1)
            )
            assert selectors.place_counts_for(scope).dwellings == 1
        assert selectors.place_counts_for(scope).dwellings == 1  # cached
    overview, _sql = _view(client, world.a.cadre)
    assert overview.dwellings == 2


@pytest.fixture
def cache_down(monkeypatch):
    """Every call to the cache raises, as redis-py does when the server is away."""

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("cache away")

    core_redis.reset_guards()
    for name in ("get", "set", "add", "delete", "has_key", "get_many", "incr"):
        monkeypatch.setattr(LocMemCache, name, refuse)
    yield
    core_redis.reset_guards()


def test_page_renders_the_right_counts_without_the_cache(client, world, cache_down):
    overview, sql = _view(client, world.a.cadre)
    assert _counts(overview) == (1, 1, 1, 1)
    assert len(_count_queries(sql)) == 1

    DwellingFactory(building=world.a.building)  # the bump fails too, quietly
    for _ in range(2):  # counted every time: nothing was cached
        core_redis.reset_guards()  # the guard asks the cache again: it still raises
        overview, sql = _view(client, world.a.cadre)
        assert overview.dwellings == 2
        assert len(_count_queries(sql)) == 1


def test_counts_follow_the_cache_coming_back(client, world, monkeypatch):
    first, _sql = _view(client, world.a.cadre)
    assert first.dwellings == 1
    core_redis.reset_guards()

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("cache away")

    with monkeypatch.context() as patch:
        patch.setattr(LocMemCache, "get", refuse)
        away, _sql = _view(client, world.a.cadre)
    core_redis.reset_guards()
    assert away.dwellings == 1
    DwellingFactory(building=world.a.building)
    back, _sql = _view(client, world.a.cadre)
    assert back.dwellings == 2
