"""The signed-in home page is cached per user as plain values (buildings.home): a second
view reads nothing from the database for the page itself, and every change the page
shows (a grant, an ownership, a place, an inspection) is on the next view."""

import datetime

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from accounts.services import role_grant, role_revoke
from buildings.services import elevator_inspection_record
from core import redis as core_redis
from tests.factories import ElevatorFactory, UserFactory

pytestmark = pytest.mark.django_db

# the tables only the page itself reads (the session, the user and the header read others)
PAGE_TABLES = ("buildings_", "accounts_roleassignment")


def _view(client, user):
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200
    page_sql = [
        q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in PAGE_TABLES)
    ]
    return response, page_sql


def test_a_second_view_reads_no_place_from_the_database(client, world):
    world.a.dwelling.owners.add(world.a.cadre)
    first, first_sql = _view(client, world.a.cadre)
    assert first_sql  # the first view reads the places
    second, second_sql = _view(client, world.a.cadre)
    assert second_sql == []
    for name in ("role_places", "dwellings", "overview"):
        assert second.context[name] == first.context[name]
    assert "甲居民区 › 甲花园 › 1号楼 › 101" in second.content.decode()
    assert second.context["overview"].estates == 1


def test_a_grant_and_a_revoke_are_on_the_next_view(client, world):
    user = UserFactory()
    response, _sql = _view(client, user)
    assert response.context["overview"] is None
    assignment = role_grant(user=user, role=Role.CADRE, place=world.b.neighbourhood)
    response, _sql = _view(client, user)
    assert response.context["overview"] is not None
    assert [p.role for p in response.context["role_places"]] == [Role.CADRE]
    role_revoke(assignment=assignment)
    response, _sql = _view(client, user)
    assert response.context["overview"] is None and response.context["role_places"] == []


def test_a_new_home_is_on_the_next_view(client, world):
    owner = UserFactory()
    response, _sql = _view(client, owner)
    assert response.context["dwellings"] == []
    world.b.dwelling.owners.add(owner)
    response, _sql = _view(client, owner)
    paths = [d.path for d in response.context["dwellings"]]
    assert paths == [("乙居民区", "乙花园", "1号楼", "101")]


def test_a_recorded_inspection_leaves_the_due_list_on_the_next_view(client, world):
    today = timezone.localdate()
    elevator = ElevatorFactory(
        building=world.a.building, next_inspection_due=today + datetime.timedelta(days=3)
    )
    response, _sql = _view(client, world.a.cadre)
    assert elevator.pk in [e.pk for e in response.context["overview"].due_elevators]
    elevator_inspection_record(
        elevator=elevator, inspected_on=today, result="passed", recorded_by=world.a.cadre
    )
    response, _sql = _view(client, world.a.cadre)
    assert elevator.pk not in [e.pk for e in response.context["overview"].due_elevators]


def test_a_renamed_estate_is_on_the_next_view(client, world):
    _view(client, world.a.cadre)
    world.a.estate.name = "新名花园"
    world.a.estate.save()
    world.a.dwelling.owners.add(world.a.cadre)
    response, _sql = _view(client, world.a.cadre)
    assert "甲居民区 › 新名花园 › 1号楼 › 101" in response.content.decode()


def test_the_page_is_right_without_the_cache(client, world, monkeypatch):
    world.a.dwelling.owners.add(world.a.cadre)

    def refuse(*_args, **_kwargs):
        raise ConnectionRefusedError("cache away")

    for name in ("get", "get_many", "set", "add", "set_many", "delete"):
        monkeypatch.setattr(LocMemCache, name, refuse)
    core_redis.reset_guards()
    try:
        for _ in range(2):
            response, page_sql = _view(client, world.a.cadre)
            assert page_sql  # read from the database every time
            assert "甲居民区 › 甲花园 › 1号楼 › 101" in response.content.decode()
    finally:
        core_redis.reset_guards()
