"""A whole ID number never reaches a URL: the search boxes POST, GETs are redirected or
refused, the API has POST .../search/ (finding 7 of issue 11)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from residents.search import TOKEN_PREFIX, search_token
from tests.factories import HouseholdFactory, ResidentFactory, make_id_number

pytestmark = pytest.mark.django_db

A_ID = make_id_number(4101)
B_ID = make_id_number(4102)
RESIDENTS_ADMIN = "admin:residents_resident_changelist"
HOUSEHOLDS_ADMIN = "admin:residents_household_changelist"
RESIDENTS_API = "/api/v1/residents/"
HOUSEHOLDS_API = "/api/v1/households/"


@pytest.fixture
def people(world):
    a = ResidentFactory(
        household=HouseholdFactory(dwelling=world.a.dwelling), name="甲居民", id_number=A_ID
    )
    b = ResidentFactory(
        household=HouseholdFactory(dwelling=world.b.dwelling), name="乙居民", id_number=B_ID
    )
    return a, b


def _q(location: str) -> list[str]:
    return parse_qs(urlsplit(location).query).get("q", [])


# --- the search token ------------------------------------------------------------------------


def test_the_token_is_opaque_and_stable():
    token = search_token(A_ID)
    assert token.startswith(TOKEN_PREFIX) and A_ID not in token
    assert search_token(f" {A_ID.lower()} ") == token
    assert search_token("张三") == "张三"
    assert search_token(A_ID[:17] + "0" if A_ID[17] != "0" else A_ID[:17] + "1") != token


# --- the search boxes post ----------------------------------------------------------------------


@pytest.mark.parametrize("list_name", [RESIDENTS_ADMIN, HOUSEHOLDS_ADMIN])
def test_admin_search_box_posts_to_the_token_view(world, login, people, list_name):
    page = login(world.a.cadre).get(reverse(list_name))
    html = page.content.decode()
    assert 'id="changelist-search" method="post"' in html
    assert f'action="{reverse("registry:search")}"' in html


def test_export_filter_form_posts_to_the_token_view(world, login, people):
    html = login(world.a.cadre).get(reverse("registry:export")).content.decode()
    assert f'method="post" action="{reverse("registry:search")}"' in html


@pytest.mark.parametrize(
    ("list_name", "expected"),
    [(RESIDENTS_ADMIN, "甲居民"), (HOUSEHOLDS_ADMIN, "甲居民"), ("registry:export", "甲居民")],
)
def test_posting_a_whole_id_number_redirects_with_a_token(
    world, login, people, list_name, expected
):
    client = login(world.a.cadre)
    target = reverse(list_name)
    response = client.post(
        reverse("registry:search"), {"q": A_ID, "next": target, "moved_out": "no", "p": "3"}
    )
    assert response.status_code == 302
    location = response["Location"]
    assert A_ID not in location and A_ID.lower() not in location
    assert urlsplit(location).path == target
    assert _q(location) == [search_token(A_ID)]
    assert parse_qs(urlsplit(location).query)["moved_out"] == ["no"]
    assert "p" not in parse_qs(urlsplit(location).query)  # back to the first page
    found = client.get(location)
    assert found.status_code == 200
    if list_name == RESIDENTS_ADMIN:
        assert [r.pk for r in found.context["cl"].result_list] == [people[0].pk]
    elif list_name == HOUSEHOLDS_ADMIN:
        assert [h.pk for h in found.context["cl"].result_list] == [people[0].household_id]
    else:
        assert [r.pk for r in found.context["page_obj"].object_list] == [people[0].pk]


def test_other_terms_pass_unchanged(world, login, people):
    response = login(world.a.cadre).post(
        reverse("registry:search"), {"q": "甲居民", "next": reverse(RESIDENTS_ADMIN)}
    )
    assert _q(response["Location"]) == ["甲居民"]


def test_a_token_never_finds_another_neighbourhoods_resident(world, login, people):
    client = login(world.b.cadre)
    response = client.post(
        reverse("registry:search"), {"q": A_ID, "next": reverse(RESIDENTS_ADMIN)}
    )
    found = client.get(response["Location"])
    assert list(found.context["cl"].result_list) == []


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/x", "/accounts/login/", ""]
)
def test_the_token_view_redirects_only_to_the_registry_lists(world, login, next_url):
    response = login(world.a.cadre).post(reverse("registry:search"), {"q": "x", "next": next_url})
    assert urlsplit(response["Location"]).path == reverse("registry:export")
    assert not urlsplit(response["Location"]).netloc


def test_the_token_view_is_post_only_csrf_protected_and_for_staff(world, people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.a.cadre, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("registry:search")
    assert client.get(url, {"q": A_ID}).status_code == 405
    assert client.post(url, {"q": A_ID, "next": reverse(RESIDENTS_ADMIN)}).status_code == 403
    anonymous = Client().post(url, {"q": A_ID})
    assert anonymous.status_code == 302 and A_ID not in anonymous["Location"]


# --- a GET that still carries the number ---------------------------------------------------------


@pytest.mark.parametrize(
    "list_name", [RESIDENTS_ADMIN, HOUSEHOLDS_ADMIN, "registry:export", "registry:export_download"]
)
def test_a_get_with_a_whole_id_number_is_redirected_to_its_token(world, login, people, list_name):
    client = login(world.a.cadre)
    response = client.get(reverse(list_name), {"q": A_ID, "moved_out": "no"})
    assert response.status_code == 302
    assert A_ID not in response["Location"]
    assert _q(response["Location"]) == [search_token(A_ID)]


# --- the API ------------------------------------------------------------------------------


@pytest.fixture
def reader(world, api_key_headers):
    return api_key_headers(world.a.neighbourhood, scopes=("residents:read",))[1]


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [(RESIDENTS_API, "/api/v1/residents/search/"), (HOUSEHOLDS_API, "/api/v1/households/search/")],
)
def test_api_get_with_a_whole_id_number_is_a_400_naming_the_post_endpoint(
    client, people, reader, url, endpoint
):
    response = client.get(url, {"search": A_ID}, headers=reader)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert endpoint in " ".join(fields["search"])
    assert A_ID not in response.content.decode()


def test_api_post_search_finds_by_whole_id_number_within_the_keys_places(
    client, people, reader, world, api_key_headers
):
    response = client.post(
        "/api/v1/residents/search/",
        {"search": A_ID},
        content_type="application/json",
        headers=reader,
    )
    assert response.status_code == 200, response.content
    assert [r["id"] for r in response.json()["results"]] == [people[0].pk]
    households = client.post(
        "/api/v1/households/search/",
        {"search": A_ID},
        content_type="application/json",
        headers=reader,
    )
    assert [h["id"] for h in households.json()["results"]] == [people[0].household_id]
    # B's key: B's resident only, never A's
    b_key = api_key_headers(world.b.neighbourhood, scopes=("residents:read",))[1]
    other = client.post(
        "/api/v1/residents/search/",
        {"search": A_ID},
        content_type="application/json",
        headers=b_key,
    )
    assert other.status_code == 200 and other.json()["results"] == []


def test_api_post_search_pages_link_to_gets_with_the_token(client, world, reader):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    ResidentFactory(household=household, name="同名", id_number=make_id_number(4201))
    ResidentFactory(household=household, name="同名", id_number=make_id_number(4202))
    first = client.post(
        "/api/v1/residents/search/?page_size=1",
        {"search": "同名"},
        content_type="application/json",
        headers=reader,
    ).json()
    assert len(first["results"]) == 1
    assert urlsplit(first["next"]).path == RESIDENTS_API
    second = client.get(first["next"], headers=reader).json()
    assert len(second["results"]) == 1
    assert second["results"][0]["id"] != first["results"][0]["id"]
    by_number = client.post(
        "/api/v1/residents/search/?page_size=1",
        {"search": make_id_number(4201)},
        content_type="application/json",
        headers=reader,
    ).json()
    assert len(by_number["results"]) == 1 and by_number["next"] is None


def test_api_post_search_needs_the_read_scope_and_is_in_the_schema(client, world, api_key_headers):
    from drf_spectacular.generators import SchemaGenerator

    writer_only = api_key_headers(world.a.neighbourhood, scopes=("access:write",))[1]
    response = client.post(
        "/api/v1/residents/search/",
        {"search": A_ID},
        content_type="application/json",
        headers=writer_only,
    )
    assert response.status_code == 403
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert "post" in paths["/api/v1/residents/search/"]
    assert "post" in paths["/api/v1/households/search/"]


def test_session_post_search_needs_csrf(world, people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.a.cadre, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        "/api/v1/residents/search/", {"search": A_ID}, content_type="application/json"
    )
    assert response.status_code == 403
