"""The admin's autocomplete sends its term by GET, so a whole ID number typed there
would sit in a URL: the resident and household admins' search finds nothing for one
(an empty list), while the last 4 digits still find the person, and the changelist's
search box (a POST, swapped for a token) still finds them by the whole number."""

import datetime

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from residents.models import Household, Resident
from residents.search import search_token
from tests.factories import HouseholdFactory, ResidentFactory, make_id_number

pytestmark = pytest.mark.django_db

ID = make_id_number(951, birth=datetime.date(1950, 4, 3), region="110105")


@pytest.fixture
def person(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    return ResidentFactory(household=household, name="欧阳娜", id_number=ID)


def household_autocomplete(client, term):
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "residents",
            "model_name": "resident",
            "field_name": "household",
            "term": term,
        },
    )
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("typed", [ID, ID.lower(), f" {ID[:6]} {ID[6:14]} {ID[14:]} "])
def test_the_household_autocomplete_refuses_a_whole_id_number(world, login, person, typed):
    client = login(world.a.cadre)
    assert household_autocomplete(client, typed) == set()
    assert household_autocomplete(client, ID[-4:]) == {str(person.household_id)}
    assert household_autocomplete(client, "欧阳") == {str(person.household_id)}


def test_the_household_changelist_still_finds_the_whole_number_by_its_token(world, login, person):
    client = login(world.a.cadre)
    found = client.get(reverse("admin:residents_household_changelist"), {"q": search_token(ID)})
    assert [h.pk for h in found.context["cl"].result_list] == [person.household_id]


def _resident_search(user, term):
    model_admin = admin.site.get_model_admin(Resident)
    request = RequestFactory().get(reverse("admin:autocomplete"), {"term": term})
    request.user = user
    queryset = model_admin.get_queryset(request)
    results, may_have_duplicates = model_admin.get_search_results(request, queryset, term)
    assert may_have_duplicates is False
    return set(results)


def test_the_resident_admins_search_refuses_a_whole_id_number(world, person):
    assert _resident_search(world.a.cadre, ID) == set()
    assert _resident_search(world.a.cadre, ID[-4:]) == {person}
    assert _resident_search(world.a.cadre, search_token(ID)) == {person}  # the changelist's way
    assert _resident_search(world.b.cadre, ID[-4:]) == set()  # still scoped


def test_the_household_admins_search_refuses_a_whole_id_number(world, person):
    model_admin = admin.site.get_model_admin(Household)
    request = RequestFactory().get(reverse("admin:autocomplete"), {"term": ID})
    request.user = world.a.cadre
    queryset = model_admin.get_queryset(request)
    results, _dupes = model_admin.get_search_results(request, queryset, ID)
    assert list(results) == []
    results, _dupes = model_admin.get_search_results(request, queryset, search_token(ID))
    assert list(results) == [person.household]
