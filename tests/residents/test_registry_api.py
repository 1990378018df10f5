"""/api/v1/residents/ and /api/v1/households/: scopes, scoping, masking, filters, writes."""

import datetime
import itertools

import pytest
from django.core.cache import cache
from django.utils import timezone

from buildings.models import add_years
from residents.models import CareTag, Household, Resident
from residents.services import resident_mark_moved_out
from tests.factories import (
    BuildingFactory,
    DwellingFactory,
    HouseholdFactory,
    ResidentFactory,
    make_id_number,
)

pytestmark = pytest.mark.django_db

RESIDENTS = "/api/v1/residents/"
HOUSEHOLDS = "/api/v1/households/"
_seq = itertools.count(100)


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()


def person(dwelling, *, age=40, household=None, **kwargs):
    birth = add_years(timezone.localdate(), -age) - datetime.timedelta(days=3)
    kwargs.setdefault("id_number", make_id_number(next(_seq), birth=birth))
    return ResidentFactory(household=household or HouseholdFactory(dwelling=dwelling), **kwargs)


@pytest.fixture
def reader(world, api_key_headers):
    return api_key_headers(world.a.neighbourhood, scopes=("residents:read",))[1]


@pytest.fixture
def writer(world, api_key_headers):
    return api_key_headers(world.a.neighbourhood, scopes=("residents:read", "residents:write"))[1]


@pytest.fixture
def registry(world):
    tag = CareTag.objects.create(code="party-member", name="党员")
    building2 = BuildingFactory(estate=world.a.estate, number="2号楼")
    return {
        "zhang": person(world.a.dwelling, name="张三", phone="13812345678", care_tags=[tag]),
        "li": person(
            DwellingFactory(building=building2, room="202"),
            name="李四",
            age=85,
            residence_status="renting",
        ),
        "wang": person(world.b.dwelling, name="王五"),
        "building2": building2,
        "tag": tag,
    }


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_key_reads_its_jurisdiction_only(world, registry, client, reader):
    response = client.get(RESIDENTS, headers=reader)
    assert ids(response) == {registry["zhang"].pk, registry["li"].pk}
    assert client.get(f"{RESIDENTS}{registry['wang'].pk}/", headers=reader).status_code == 404
    own = client.get(f"{RESIDENTS}{registry['zhang'].pk}/", headers=reader)
    assert own.status_code == 200
    households = client.get(HOUSEHOLDS, headers=reader)
    assert ids(households) == {registry["zhang"].household_id, registry["li"].household_id}
    other = client.get(f"{HOUSEHOLDS}{registry['wang'].household_id}/", headers=reader)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"


def test_identifiers_are_masked(world, registry, client, reader):
    zhang = registry["zhang"]
    response = client.get(f"{RESIDENTS}{zhang.pk}/", headers=reader)
    body = response.json()
    assert body["id_number_masked"] == zhang.masked_id
    assert body["phone_masked"] == "138****5678"
    assert "id_number" not in body and "phone" not in body
    text = response.content.decode()
    assert zhang.decrypt_identifier() not in text
    assert "13812345678" not in text
    assert body["care_tags"] == ["party-member"]
    assert body["address"] == f"{world.a.estate.name} 1号楼 101"
    assert body["age"] == 40


def test_missing_scope_is_403(world, registry, client, api_key_headers):
    _key, places_only = api_key_headers(world.a.neighbourhood, scopes=("places:read",))
    response = client.get(RESIDENTS, headers=places_only)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert client.get(HOUSEHOLDS, headers=places_only).status_code == 403
    assert client.get(RESIDENTS).status_code == 401


def test_read_scope_cannot_write(world, registry, client, reader):
    response = client.patch(
        f"{RESIDENTS}{registry['zhang'].pk}/",
        {"name": "张三丰"},
        content_type="application/json",
        headers=reader,
    )
    assert response.status_code == 403
    registry["zhang"].refresh_from_db()
    assert registry["zhang"].name == "张三"


def test_session_cadre_of_the_other_neighbourhood_gets_404(world, registry, login):
    client = login(world.b.cadre)
    assert client.get(f"{RESIDENTS}{registry['zhang'].pk}/").status_code == 404
    assert client.get(f"{HOUSEHOLDS}{registry['zhang'].household_id}/").status_code == 404
    response = client.patch(
        f"{RESIDENTS}{registry['zhang'].pk}/", {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert ids(client.get(RESIDENTS)) == {registry["wang"].pk}
    # and the cadre of A sees A's
    client = login(world.a.cadre)
    assert client.get(f"{RESIDENTS}{registry['zhang'].pk}/").status_code == 200


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"search": "张三"}, {"zhang"}),
        ({"search": "zs"}, {"zhang"}),
        ({"search": "lisi"}, {"li"}),
        ({"search": "5678"}, {"zhang"}),
        ({"care_tag": "party-member"}, {"zhang"}),
        ({"care_tag": "nobody"}, set()),
        ({"residence_status": "renting"}, {"li"}),
        ({"age_min": 80}, {"li"}),
        ({"age_max": 79}, {"zhang"}),
        ({"moved_out": "false"}, {"zhang", "li"}),
        ({"moved_out": "true"}, set()),
    ],
)
def test_resident_filters(world, registry, client, reader, params, expected):
    response = client.get(RESIDENTS, params, headers=reader)
    assert ids(response) == {registry[name].pk for name in expected}


def test_place_filters_and_moved_out(world, registry, client, reader):
    by_building = client.get(RESIDENTS, {"building": registry["building2"].pk}, headers=reader)
    assert ids(by_building) == {registry["li"].pk}
    by_estate = client.get(RESIDENTS, {"estate": world.b.estate.pk}, headers=reader)
    assert ids(by_estate) == set()  # another neighbourhood's estate: nothing, no error
    resident_mark_moved_out(resident=registry["li"])
    assert ids(client.get(RESIDENTS, {"moved_out": "true"}, headers=reader)) == {registry["li"].pk}
    households = client.get(HOUSEHOLDS, {"search": "李四"}, headers=reader)
    assert ids(households) == {registry["li"].household_id}
    households = client.get(HOUSEHOLDS, {"building": registry["building2"].pk}, headers=reader)
    assert ids(households) == {registry["li"].household_id}


def test_cursor_pagination(world, registry, client, reader):
    first = client.get(RESIDENTS, {"page_size": 1}, headers=reader).json()
    assert len(first["results"]) == 1
    assert "cursor=" in first["next"]
    second = client.get(first["next"], headers=reader).json()
    assert len(second["results"]) == 1
    assert second["results"][0]["id"] != first["results"][0]["id"]


@pytest.mark.parametrize("url", [RESIDENTS, HOUSEHOLDS])
def test_list_query_count_is_fixed(world, client, reader, url, django_assert_max_num_queries):
    tag = CareTag.objects.create(code="low-income", name="低保")
    person(world.a.dwelling, care_tags=[tag])
    with django_assert_max_num_queries(15) as few:
        assert client.get(url, headers=reader).status_code == 200
    for _ in range(15):
        household = HouseholdFactory(dwelling=world.a.dwelling)
        person(world.a.dwelling, household=household, care_tags=[tag])
        person(world.a.dwelling, household=household, relation="spouse")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url, headers=reader)
    assert len(response.json()["results"]) > 10


# --- writes ---------------------------------------------------------------------------------


def test_create_and_update_a_resident(world, client, writer):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    CareTag.objects.create(code="veteran", name="退役军人")
    number = make_id_number(5, birth=datetime.date(1950, 6, 1))
    response = client.post(
        RESIDENTS,
        {
            "household": household.pk,
            "name": "赵六",
            "id_number": number,
            "phone": "139 0000 1111",
            "care_tags": ["veteran"],
            "lives_alone": True,
        },
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "赵六"
    assert body["birth_date"] == "1950-06-01"
    assert body["care_tags"] == ["veteran"]
    assert number not in response.content.decode()
    resident = Resident.objects.get(pk=body["id"])
    assert resident.decrypt_identifier() == number
    assert resident.neighbourhood == world.a.neighbourhood
    household.refresh_from_db()
    assert household.head == resident
    assert resident.history.first().history_user is None  # a system, not a person

    response = client.patch(
        f"{RESIDENTS}{resident.pk}/",
        {"residence_status": "permanent", "care_tags": []},
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 200, response.content
    assert response.json()["residence_status"] == "permanent"
    assert response.json()["care_tags"] == []
    resident.refresh_from_db()
    assert resident.name == "赵六" and resident.lives_alone is True


def test_write_errors_use_the_common_shape(world, registry, client, writer):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    bad = client.post(
        RESIDENTS,
        {"household": household.pk, "name": "钱七", "id_number": "110105194912310021"},
        content_type="application/json",
        headers=writer,
    )
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["id_number"]

    duplicate = client.post(
        RESIDENTS,
        {
            "household": household.pk,
            "name": "重复",
            "id_number": registry["zhang"].decrypt_identifier(),
        },
        content_type="application/json",
        headers=writer,
    )
    assert duplicate.status_code == 400
    assert "id_number" in duplicate.json()["error"]["fields"]

    # a household of another neighbourhood "does not exist" for this key
    outside = client.post(
        RESIDENTS,
        {"household": registry["wang"].household_id, "name": "越界"},
        content_type="application/json",
        headers=writer,
    )
    assert outside.status_code == 400
    assert "household" in outside.json()["error"]["fields"]
    assert not Resident.objects.filter(name__in=["钱七", "重复", "越界"]).exists()

    type_only = client.patch(
        f"{RESIDENTS}{registry['zhang'].pk}/",
        {"id_type": "passport"},
        content_type="application/json",
        headers=writer,
    )
    assert type_only.status_code == 400
    assert "id_number" in type_only.json()["error"]["fields"]

    other = client.patch(
        f"{RESIDENTS}{registry['wang'].pk}/",
        {"name": "x"},
        content_type="application/json",
        headers=writer,
    )
    assert other.status_code == 404
    assert client.delete(f"{RESIDENTS}{registry['zhang'].pk}/", headers=writer).status_code == 405
    assert client.put(f"{RESIDENTS}{registry['zhang'].pk}/", {}, headers=writer).status_code == 405


def test_households_create_and_change_head(world, registry, client, writer):
    response = client.post(
        HOUSEHOLDS,
        {"dwelling": world.a.dwelling.pk, "tenure": "tenant"},
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 201, response.content
    household = Household.objects.get(pk=response.json()["id"])
    assert household.tenure == "tenant"
    assert response.json()["member_count"] == 0

    head = person(world.a.dwelling, household=household, name="户主")
    spouse = person(world.a.dwelling, household=household, name="配偶", relation="spouse")
    response = client.patch(
        f"{HOUSEHOLDS}{household.pk}/",
        {"head": spouse.pk, "tenure": "owner"},
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 200, response.content
    assert response.json()["head"] == spouse.pk
    assert response.json()["head_name"] == "配偶"
    assert response.json()["member_count"] == 2
    household.refresh_from_db()
    assert household.tenure == "owner"
    assert head.pk != household.head_id

    # the head must be a member
    response = client.patch(
        f"{HOUSEHOLDS}{household.pk}/",
        {"head": registry["zhang"].pk},
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 400
    assert "head" in response.json()["error"]["fields"]

    outside = client.post(
        HOUSEHOLDS,
        {"dwelling": world.b.dwelling.pk},
        content_type="application/json",
        headers=writer,
    )
    assert outside.status_code == 400
    assert "dwelling" in outside.json()["error"]["fields"]


def test_registry_is_in_the_schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    paths = response.json()["paths"]
    for path in (
        "/api/v1/residents/",
        "/api/v1/residents/{id}/",
        "/api/v1/households/",
        "/api/v1/households/{id}/",
        "/api/v1/access-events/",
    ):
        assert path in paths
    assert "put" not in paths["/api/v1/residents/{id}/"]
    assert "delete" not in paths["/api/v1/residents/{id}/"]
    assert set(paths["/api/v1/access-events/"]) == {"post"}
