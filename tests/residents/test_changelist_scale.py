"""The registry's changelists cost the same for a wide jurisdiction as for a narrow one.

No COUNT over the whole scope (core.admin_lists.BoundedCountPaginator), place filters that
list a bounded number of places (core.admin_lists.PlaceCascade), a fixed number of
queries, and the scope still holds: a cadre of A never sees or filters to B.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from accounts.services import role_grant
from core.admin_lists import BoundedCountPaginator, PlaceCascade
from residents.admin import HouseholdAdmin, ResidentAdmin
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

MODELS = ["resident", "household"]
PLACE_PARAMETER = re.compile(
    r"[?&]((?:subdistrict|neighbourhood|estate|building)__id__exact)=(\d+)"
)


def url(model_name):
    return reverse(f"admin:residents_{model_name}_changelist")


def grow(subdistricts, per_subdistrict, start=0):
    """``per_subdistrict`` neighbourhoods in each subdistrict, each with one estate, one
    building and one household of one resident."""
    neighbourhoods = []
    for subdistrict in subdistricts:
        for n in range(start, start + per_subdistrict):
            neighbourhood = NeighbourhoodFactory(subdistrict=subdistrict)
            estate = EstateFactory(neighbourhood=neighbourhood)
            dwelling = DwellingFactory(building=BuildingFactory(estate=estate, number=f"{n}号楼"))
            ResidentFactory(household=HouseholdFactory(dwelling=dwelling))
            neighbourhoods.append(neighbourhood)
    return neighbourhoods


@pytest.fixture(params=["district_staff", "subdistrict_cadre"])
def wide(world, login, request):
    """A district of three subdistricts of ten neighbourhoods each (30 neighbourhoods),
    with a user over all of them: district staff (one grant on the district) or a cadre
    of the three subdistricts. ``world`` (A and B) is in another district."""
    district = DistrictFactory(name="大场区")
    subdistricts = [SubdistrictFactory(district=district) for _i in range(3)]
    neighbourhoods = grow(subdistricts, 10)
    cadre = UserFactory(name="区干部")
    if request.param == "district_staff":
        role_grant(user=cadre, role=Role.DISTRICT_STAFF, place=district)
    else:
        for subdistrict in subdistricts:
            role_grant(user=cadre, role=Role.CADRE, place=subdistrict)
    return SimpleNamespace(
        subdistricts=subdistricts,
        neighbourhoods=neighbourhoods,
        cadre=cadre,
        client=login(cadre),
    )


@pytest.fixture
def few_choices(monkeypatch):
    monkeypatch.setattr(PlaceCascade, "max_choices", 10)


PLACE_PARAMETERS = (
    "subdistrict__id__exact",
    "neighbourhood__id__exact",
    "estate__id__exact",
    "building__id__exact",
)


def place_links(response) -> list[tuple[str, str]]:
    """The place filter's links (parameter, id) as the page shows them."""
    cl = response.context["cl"]
    links = []
    for spec in cl.filter_specs:
        name = getattr(spec, "parameter_name", None) or getattr(spec, "lookup_kwarg", None)
        if name not in PLACE_PARAMETERS or not spec.has_output():
            continue
        for choice in spec.choices(cl):
            found = PLACE_PARAMETER.findall(choice["query_string"].replace("&amp;", "&"))
            links += [(n, pk) for n, pk in found if n == name]
    return links


def listed(response, parameter) -> set[int]:
    return {int(pk) for name, pk in place_links(response) if name == parameter}


def html_place_links(response) -> dict[str, set[int]]:
    """{parameter: ids} of every place parameter found in a link of the page's HTML."""
    found: dict[str, set[int]] = {name: set() for name in PLACE_PARAMETERS}
    for href in re.findall(r'href="([^"]*)"', response.content.decode()):
        for name, pk in PLACE_PARAMETER.findall(href.replace("&amp;", "&")):
            found[name].add(int(pk))
    return found


def count_queries(captured) -> list[str]:
    """The counting queries (the paginator's, a full count's, facet counts); a COUNT
    subquery in the page's own select (a household's members) counts one row's."""
    return [q["sql"] for q in captured if q["sql"].lstrip().upper().startswith("SELECT COUNT(")]


#: a count over a bounded subquery: SELECT COUNT(*) FROM (SELECT ... LIMIT n) ...
BOUNDED_COUNT = re.compile(r"^\s*SELECT COUNT\(\*\).* FROM \(SELECT .* LIMIT \d+\)", re.S | re.I)


# --- no COUNT over the whole scope --------------------------------------------------------


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("query", [{}, {"moved_out": "no"}])
def test_every_count_is_bounded(wide, model_name, query):
    with CaptureQueriesContext(connection) as ctx:
        response = wide.client.get(url(model_name), query)
    assert response.status_code == 200
    counts = count_queries(ctx.captured_queries)
    assert counts, "the changelist counts its rows"
    for sql in counts:
        assert BOUNDED_COUNT.match(sql), sql
    # No facet counts either, even when asked for in the URL.
    with CaptureQueriesContext(connection) as ctx:
        response = wide.client.get(url(model_name), {**query, "_facets": "1"})
    assert response.status_code == 200
    counts = count_queries(ctx.captured_queries)
    assert counts
    for sql in counts:
        assert BOUNDED_COUNT.match(sql), sql


@pytest.mark.parametrize("model_name", MODELS)
def test_result_line_below_and_above_the_bound(wide, model_name, monkeypatch):
    expected_rows = 30
    monkeypatch.setattr(BoundedCountPaginator, "count_limit", 1000)
    response = wide.client.get(url(model_name))
    cl = response.context["cl"]
    assert cl.result_count == expected_rows and not cl.result_count_bounded
    plural = str(cl.opts.verbose_name_plural)
    assert f"{expected_rows} {plural}" in response.content.decode()

    monkeypatch.setattr(BoundedCountPaginator, "count_limit", 5)
    monkeypatch.setattr(type(response.context["cl"].model_admin), "list_per_page", 2)
    response = wide.client.get(url(model_name))
    cl = response.context["cl"]
    assert cl.result_count_bounded
    with translation.override("zh-hans"):
        more = translation.gettext("more than %(count)s") % {"count": "5"}
    html = response.content.decode()
    assert f"{more} {plural}" in html
    assert f"{expected_rows} {plural}" not in html
    # The bounded pages (5 rows, 2 a page) can be paged through.
    assert cl.paginator.num_pages == 3
    last = wide.client.get(url(model_name), {"p": "3"})
    assert last.status_code == 200 and len(last.context["cl"].result_list) == 1


# --- place filters list a bounded number of places --------------------------------------


@pytest.mark.parametrize("model_name", MODELS)
def test_place_filter_lists_a_bounded_cascade(wide, few_choices, model_name):
    response = wide.client.get(url(model_name))
    assert response.status_code == 200
    # 30 neighbourhoods (and estates, buildings) are more than the 10 a level may list:
    # with nothing chosen, only the three subdistricts are offered.
    subdistrict_ids = {s.pk for s in wide.subdistricts}
    assert listed(response, "subdistrict__id__exact") == subdistrict_ids
    assert not listed(response, "neighbourhood__id__exact")
    assert not listed(response, "estate__id__exact")
    assert not listed(response, "building__id__exact")
    # ... and so says the HTML: three place links in all.
    html = html_place_links(response)
    assert html["subdistrict__id__exact"] == subdistrict_ids
    assert sum(len(ids) for ids in html.values()) == 3

    # A subdistrict chosen: its ten neighbourhoods, no other.
    subdistrict = wide.subdistricts[1]
    chosen = {"subdistrict__id__exact": subdistrict.pk}
    response = wide.client.get(url(model_name), chosen)
    mine = {n.pk for n in wide.neighbourhoods if n.subdistrict_id == subdistrict.pk}
    assert len(mine) == 10
    assert listed(response, "neighbourhood__id__exact") == mine
    assert html_place_links(response)["neighbourhood__id__exact"] == mine
    assert not listed(response, "estate__id__exact")
    assert response.context["cl"].result_count == 10

    # A neighbourhood chosen: its estate; an estate chosen: its building.
    neighbourhood = wide.neighbourhoods[12]
    assert neighbourhood.subdistrict_id == subdistrict.pk
    estate = neighbourhood.estates.get()
    response = wide.client.get(
        url(model_name), {**chosen, "neighbourhood__id__exact": neighbourhood.pk}
    )
    assert listed(response, "estate__id__exact") == {estate.pk}
    assert response.context["cl"].result_count == 1
    response = wide.client.get(url(model_name), {"estate__id__exact": estate.pk})
    assert listed(response, "building__id__exact") == {estate.buildings.get().pk}
    assert response.context["cl"].result_count == 1


@pytest.mark.parametrize("model_name", MODELS)
def test_children_of_the_chosen_place_are_bounded_too(wide, monkeypatch, model_name):
    monkeypatch.setattr(PlaceCascade, "max_choices", 4)
    subdistrict = wide.subdistricts[0]
    response = wide.client.get(url(model_name), {"subdistrict__id__exact": subdistrict.pk})
    neighbourhoods = listed(response, "neighbourhood__id__exact")
    assert len(neighbourhoods) == 4  # of its ten
    assert neighbourhoods <= {n.pk for n in subdistrict.neighbourhoods.all()}
    html = html_place_links(response)
    assert html["neighbourhood__id__exact"] == neighbourhoods
    assert not html["estate__id__exact"] and not html["building__id__exact"]


@pytest.mark.parametrize("model_name", MODELS)
def test_query_count_and_filter_size_do_not_grow_with_the_scope(
    wide, few_choices, model_name, django_assert_max_num_queries
):
    wide.client.get(url(model_name))  # warm caches
    with CaptureQueriesContext(connection) as few:
        small = wide.client.get(url(model_name))
    # Read now: the next request resets connection.queries (request_started), and
    # captured_queries is a slice of it taken when read.
    small_queries = len(few.captured_queries)
    assert small_queries > 0
    small_links = html_place_links(small)

    grow(wide.subdistricts, 5, start=100)  # 45 neighbourhoods now
    wide.client.get(url(model_name))  # the place tree changed: scopes are read anew
    with django_assert_max_num_queries(small_queries):
        big = wide.client.get(url(model_name))
    assert big.status_code == 200
    assert big.context["cl"].result_count == small.context["cl"].result_count + 15
    assert len(place_links(big)) == len(place_links(small)) == 3
    assert html_place_links(big) == small_links


# --- the scope holds ---------------------------------------------------------------------


@pytest.mark.parametrize("model_name", MODELS)
def test_a_cadre_of_a_cannot_see_or_filter_to_b(world, login, model_name):
    # A has two estates (so the estate level is offered), B one.
    second = EstateFactory(neighbourhood=world.a.neighbourhood, name="甲新村")
    second_building = BuildingFactory(estate=second, number="2号楼")
    for dwelling in (
        world.a.dwelling,
        DwellingFactory(building=second_building, room="201"),
        world.b.dwelling,
    ):
        ResidentFactory(household=HouseholdFactory(dwelling=dwelling))
    a_estates = {world.a.estate.pk, second.pk}
    a_buildings = {world.a.building.pk, second_building.pk}
    client = login(world.a.cadre)

    response = client.get(url(model_name))
    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.result_count == 2
    assert {row.estate_id for row in cl.result_list} == a_estates
    # One subdistrict, one neighbourhood: nothing to choose; A's two estates and two
    # buildings are few enough to list, B's are not among them.
    assert set(place_links(response)) == {
        *(("estate__id__exact", str(pk)) for pk in a_estates),
        *(("building__id__exact", str(pk)) for pk in a_buildings),
    }
    html = html_place_links(response)
    assert html["estate__id__exact"] == a_estates
    assert html["building__id__exact"] == a_buildings
    assert not html["subdistrict__id__exact"] and not html["neighbourhood__id__exact"]

    theirs = {
        "neighbourhood__id__exact": world.b.neighbourhood.pk,
        "estate__id__exact": world.b.estate.pk,
        "building__id__exact": world.b.building.pk,
    }
    for parameter, pk in theirs.items():
        response = client.get(url(model_name), {parameter: pk})
        assert response.status_code == 200
        cl = response.context["cl"]
        assert list(cl.result_list) == [] and cl.result_count == 0
        labels = {str(c["display"]) for f in cl.filter_specs for c in f.choices(cl)}
        assert not {label for label in labels if "乙" in label}, labels
        # Links keep the chosen parameter; no filter offers (names) a place of B's.
        assert "乙花园" not in response.content.decode()
        assert "乙居民区" not in response.content.decode()
    # Their neighbourhood chosen: none of its estates is offered.
    response = client.get(url(model_name), {"neighbourhood__id__exact": world.b.neighbourhood.pk})
    assert not listed(response, "estate__id__exact")
    # Own subdistrict (shared with B): only A's rows.
    response = client.get(url(model_name), {"subdistrict__id__exact": world.subdistrict.pk})
    cl = response.context["cl"]
    assert cl.result_count == 2
    assert {row.neighbourhood_id for row in cl.result_list} == {world.a.neighbourhood.pk}
    assert not listed(response, "neighbourhood__id__exact") - {world.a.neighbourhood.pk}


def test_both_registry_lists_use_the_bounded_base():
    for admin_class in (ResidentAdmin, HouseholdAdmin):
        assert issubclass(admin_class.paginator, BoundedCountPaginator)
        assert admin_class.show_full_result_count is False
