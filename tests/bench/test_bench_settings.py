"""The bench's "same work, bare" floor (bench/bareview.py): only the bench serves it.

The product's URL conf and middleware never answer its path; ``config.settings.bench``
does, ahead of the stack, with the very rows of the dwellings API's first page.
"""

import importlib
import sys

import pytest
from django.test import Client, override_settings
from django.urls import Resolver404, resolve

from bench.bareview import BARE_PATH
from tests.factories import DwellingFactory, NeighbourhoodFactory

BARE_MIDDLEWARE = "bench.bareview.BareMiddleware"


@pytest.fixture
def bench_settings_module(production_settings_module):
    """config.settings.bench imported afresh (on the production module of the fixture)."""
    name = "config.settings.bench"
    sys.modules.pop(name, None)
    module = importlib.import_module(name)
    yield module
    sys.modules.pop(name, None)


def test_the_bare_route_is_absent_from_the_normal_url_conf():
    with pytest.raises(Resolver404):
        resolve(BARE_PATH, urlconf="config.urls")


def test_no_product_settings_install_the_bare_middleware(settings, production_settings_module):
    assert BARE_MIDDLEWARE not in settings.MIDDLEWARE
    assert BARE_MIDDLEWARE not in production_settings_module.MIDDLEWARE
    for name in ("config.settings.dev", "config.settings.test"):
        assert BARE_MIDDLEWARE not in importlib.import_module(name).MIDDLEWARE


@pytest.mark.django_db
def test_the_product_answers_404_on_the_bare_path(client):
    assert client.get(BARE_PATH).status_code == 404


def test_bench_settings_put_the_floor_right_after_the_probes(bench_settings_module):
    middleware = bench_settings_module.MIDDLEWARE
    assert middleware[:2] == ["core.health.ProbeMiddleware", BARE_MIDDLEWARE]
    assert bench_settings_module.ROOT_URLCONF == "config.urls"


@pytest.mark.django_db
def test_the_floor_answers_the_rows_of_the_api_page(client, api_key_headers, bench_settings_module):
    mine, other = NeighbourhoodFactory(), NeighbourhoodFactory()
    DwellingFactory.create_batch(60, building__estate__neighbourhood=mine)
    DwellingFactory.create_batch(5, building__estate__neighbourhood=other)
    key, headers = api_key_headers(mine.subdistrict.district)
    api = client.get("/api/v1/dwellings/?page_size=50", headers=headers)
    assert api.status_code == 200
    with override_settings(
        MIDDLEWARE=bench_settings_module.MIDDLEWARE, LINLI_BENCH_BARE_KEY_PREFIX=key.prefix
    ):
        bare = Client().get(BARE_PATH)  # a new client loads the bench's middleware
    assert bare.status_code == 200
    assert bare["Content-Type"] == "application/json"
    api_rows, bare_rows = api.json()["results"], bare.json()["results"]
    assert len(bare_rows) == 50
    assert [r["id"] for r in bare_rows] == [r["id"] for r in api_rows]
    assert {r["neighbourhood_id"] for r in bare_rows} == {mine.pk}
    first_api, first_bare = api_rows[0], bare_rows[0]
    assert first_bare["room"] == first_api["room"]
    assert first_bare["owner_count"] == first_api["owner_count"]
    assert first_bare["estate__name"] == first_api["estate_name"]
