"""Shared fixtures: two neighbourhoods, each with a cadre and a full place tree.

``world.a`` and ``world.b`` hold one neighbourhood's objects; the cadre of B
must never see A's (404 in pages, admin and API).
"""

from types import SimpleNamespace

import pytest

from accounts.models import Role
from accounts.services import role_grant

from .factories import (
    PASSWORD,
    BuildingFactory,
    DistrictFactory,
    DwellingFactory,
    ElevatorFactory,
    ElevatorInspectionFactory,
    EstateFactory,
    NeighbourhoodFactory,
    PropertyCompanyFactory,
    SubdistrictFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Every test starts with empty caches: the database is rolled back between tests and
    its ids are reused, so a scope, an API key or a count cached by one test must not be
    read by the next."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
    yield


def _flushes_the_database(item) -> bool:
    """A transactional test (a django_db(transaction=True) mark, transactional_db or
    live_server) ends by flushing every table."""
    marker = item.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a flush, put back the rows the migrations seed (the issue categories), which
    the tests after it in this process expect, as a fresh test database has them."""
    result = yield
    # after the process's last test the test database is already gone (nextitem None)
    if nextitem is not None and _flushes_the_database(item):
        import importlib

        from django.apps import apps
        from pytest_django.plugin import blocking_manager_key

        seed = importlib.import_module("issues.migrations.0002_seed_categories").seed
        with item.config.stash[blocking_manager_key].unblock():
            seed(apps, None)
    return result


def _side(subdistrict, label):
    neighbourhood = NeighbourhoodFactory(subdistrict=subdistrict, name=f"{label}居民区")
    company = PropertyCompanyFactory(name=f"{label}物业有限公司")
    estate = EstateFactory(
        neighbourhood=neighbourhood, name=f"{label}花园", property_company=company
    )
    building = BuildingFactory(estate=estate, number="1号楼")
    dwelling = DwellingFactory(building=building, room="101")
    elevator = ElevatorFactory(building=building)
    inspection = ElevatorInspectionFactory(elevator=elevator)
    cadre = UserFactory(name=f"{label}干部")
    role_grant(user=cadre, role=Role.CADRE, place=neighbourhood)
    return SimpleNamespace(
        neighbourhood=neighbourhood,
        company=company,
        estate=estate,
        building=building,
        dwelling=dwelling,
        elevator=elevator,
        inspection=inspection,
        cadre=cadre,
    )


@pytest.fixture
def world(db):
    district = DistrictFactory(name="宝山区")
    subdistrict = SubdistrictFactory(district=district, name="友谊路街道")
    return SimpleNamespace(
        district=district,
        subdistrict=subdistrict,
        a=_side(subdistrict, "甲"),
        b=_side(subdistrict, "乙"),
    )


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True, name="超级管理员")


@pytest.fixture
def login(client):
    """Sign a user in on the test client (skips axes, which needs a request)."""

    def _login(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return _login


# Throwaway values for the variables production settings require (no secrets).
PRODUCTION_ENV = {
    "SECRET_KEY": "test-only-8Qm3vKx1Zt7Rb2Nw5Yh9Lc4Jp6Fd0Gs3Ta8Ue1Wk5Xo2Vi7Bn4Mr9Pe6Qy",
    "ALLOWED_HOSTS": "linli.example.org",
    "DATABASE_URL": "postgres://linli@db.invalid:5432/linli",
    "REDIS_URL": "redis://redis.invalid:6379/0",
    "ID_ENCRYPTION_KEYS": "t1:dGVzdC1vbmx5LWlkLWtleS0zMi1ieXRlcy1sb25nISE=",
    "ID_HASH_KEY": "test-only-hash-key-0123456789abcdef",
}


@pytest.fixture
def production_settings_module(monkeypatch):
    """config.settings.production imported afresh with PRODUCTION_ENV set.

    Tests read values from it to build production-like overrides; the running
    settings are not touched.
    """
    import importlib
    import sys

    name = "config.settings.production"
    for key, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module(name)
    yield module
    sys.modules.pop(name, None)


@pytest.fixture
def api_key_headers(db):
    """Create an API key and return the request headers that present it.

    ``api_key_headers(place, scopes=("places:read",), **kwargs)`` -> (api_key, headers)
    """
    from core.services import api_key_create

    def _make(place, scopes=("places:read",), **kwargs):
        kwargs.setdefault("name", "test system")
        api_key, full_key = api_key_create(scopes=list(scopes), place=place, **kwargs)
        return api_key, {"Authorization": f"Api-Key {full_key}"}

    return _make
