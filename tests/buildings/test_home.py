"""The home page: what Linli is for visitors, "your places" for signed-in users."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import override

from accounts.models import Role
from accounts.services import role_grant
from tests.factories import (
    BuildingFactory,
    DwellingFactory,
    ElevatorFactory,
    EstateFactory,
    NeighbourhoodFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def zh(text) -> str:
    with override("zh-hans"):
        return escape(str(text))


def page(client, user=None):
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/")
    assert response.status_code == 200
    return response, response.content.decode()


def test_anonymous_visitor_sees_what_linli_is_and_a_sign_in_button(client, world):
    response, body = page(client)
    assert "邻里" in body
    assert 'href="/accounts/login/"' in body
    assert 'class="button button--primary button--large"' in body
    assert "role_places" not in response.context
    # no place names leak to visitors
    assert "甲居民区" not in body and "乙居民区" not in body


def test_cadre_sees_their_role_with_the_place_path(client, world):
    _response, body = page(client, world.a.cadre)
    assert "宝山区 › 友谊路街道 › 甲居民区" in body
    assert zh(Role.CADRE.label) in body
    assert "乙居民区" not in body


def test_cadre_sees_counts_in_their_scope(client, world):
    BuildingFactory(estate=world.a.estate)
    DwellingFactory(building=world.a.building)
    EstateFactory(neighbourhood=world.b.neighbourhood)  # not theirs
    response, _body = page(client, world.a.cadre)
    overview = response.context["overview"]
    assert (overview.estates, overview.buildings, overview.dwellings, overview.elevators) == (
        1,
        2,
        2,
        1,
    )


def test_cadre_sees_elevators_due_or_overdue_with_an_admin_link(client, world):
    today = timezone.localdate()
    soon = ElevatorFactory(
        building=world.a.building, next_inspection_due=today + datetime.timedelta(days=12)
    )
    late = ElevatorFactory(
        building=world.a.building, next_inspection_due=today - datetime.timedelta(days=3)
    )
    later = ElevatorFactory(
        building=world.a.building, next_inspection_due=today + datetime.timedelta(days=90)
    )
    other = ElevatorFactory(
        building=world.b.building, next_inspection_due=today + datetime.timedelta(days=5)
    )
    response, body = page(client, world.a.cadre)
    listed = [elevator.pk for elevator in response.context["overview"].due_elevators]
    assert listed == [late.pk, soon.pk]  # overdue first, then by due date
    assert later.device_code not in body
    assert other.device_code not in body
    assert soon.device_code in body and late.device_code in body
    assert f'href="/admin/buildings/elevator/{soon.pk}/change/"' in body
    assert "badge--danger" in body  # the overdue one is marked


def test_resident_owner_sees_their_dwelling(client, world):
    owner = UserFactory()
    world.a.dwelling.owners.add(owner)
    response, body = page(client, owner)
    assert "甲居民区 › 甲花园 › 1号楼 › 101" in body
    assert response.context["overview"] is None
    assert response.context["role_places"] == []
    assert "乙花园" not in body


def test_property_staff_see_their_estate_but_no_cadre_figures(client, world):
    staff = UserFactory()
    role_grant(user=staff, role=Role.PROPERTY_STAFF, place=world.a.estate)
    response, body = page(client, staff)
    assert "宝山区 › 友谊路街道 › 甲居民区 › 甲花园" in body
    assert zh(Role.PROPERTY_STAFF.label) in body
    assert response.context["overview"] is None


def test_user_without_places_is_told_what_to_do(client, world):
    response, _body = page(client, UserFactory())
    assert response.context["role_places"] == []
    assert response.context["dwellings"] == []
    assert response.context["overview"] is None


def test_staff_see_admin_and_api_docs_links_residents_do_not(client, world):
    _response, cadre_body = page(client, world.a.cadre)
    assert 'href="/admin/"' in cadre_body and 'href="/api/docs/"' in cadre_body
    client.logout()
    _response, resident_body = page(client, UserFactory())
    assert 'href="/admin/"' not in resident_body and 'href="/api/docs/"' not in resident_body
    assert 'action="/accounts/logout/"' in resident_body


def _count_home_queries(client, user):
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    return len(captured)


def test_home_query_count_does_not_grow_with_places(client, world, django_assert_max_num_queries):
    today = timezone.localdate()
    # small: one neighbourhood, one dwelling, one due elevator
    small = UserFactory()
    role_grant(user=small, role=Role.CADRE, place=world.a.neighbourhood)
    world.a.dwelling.owners.add(small)
    ElevatorFactory(building=world.a.building, next_inspection_due=today)
    baseline = _count_home_queries(client, small)

    # large: many neighbourhoods, estates, buildings, dwellings and due elevators
    large = UserFactory()
    for _n in range(5):
        neighbourhood = NeighbourhoodFactory(subdistrict=world.subdistrict)
        role_grant(user=large, role=Role.CADRE, place=neighbourhood)
        estate = EstateFactory(neighbourhood=neighbourhood)
        role_grant(user=large, role=Role.OWNERS_COMMITTEE, place=estate)
        building = BuildingFactory(estate=estate)
        for _d in range(3):
            DwellingFactory(building=building).owners.add(large)
        ElevatorFactory(building=building, next_inspection_due=today)
    role_grant(user=large, role=Role.CADRE, place=world.a.neighbourhood)
    world.a.dwelling.owners.add(large)
    ElevatorFactory(building=world.a.building, next_inspection_due=today)
    client.logout()

    client.force_login(large, backend="django.contrib.auth.backends.ModelBackend")
    with django_assert_max_num_queries(baseline + 1):  # +1: a second kind of place (estate)
        response = client.get("/")
    assert len(response.context["role_places"]) == 11
    assert len(response.context["dwellings"]) == 16
    assert len(response.context["overview"].due_elevators) == 7


def test_a_long_due_list_is_cut_and_counted(client, world, monkeypatch):
    monkeypatch.setattr("buildings.selectors.DUE_ELEVATORS_SHOWN", 2)
    today = timezone.localdate()
    for days in (1, 2, 3):
        ElevatorFactory(
            building=world.a.building, next_inspection_due=today + datetime.timedelta(days=days)
        )
    response, _body = page(client, world.a.cadre)
    overview = response.context["overview"]
    assert len(overview.due_elevators) == 2
    assert overview.due_total == 3
