"""An API key's row is cached between requests, and revocation still holds at once.

``core.api.authentication``: the row (never the secret nor its hash) lives in the cache
for ``LINLI_API_KEY_CACHE_SECONDS`` under a name derived from the key's hash; revoking
or editing the key draws a new generation; expiry is checked on every request; without
Redis every request reads the database.
"""

from __future__ import annotations

import datetime
import socket
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import redis as core_redis
from core.models import ApiKey
from core.redis import redis_settings
from core.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

ESTATES = "/api/v1/estates/"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    core_redis.reset_guards()
    yield
    cache.clear()
    core_redis.reset_guards()


def auth(full_key):
    return {"Authorization": f"Api-Key {full_key}"}


def key_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "core_apikey" in q["sql"]]


def make_key(world, **kwargs):
    return api_key_create(
        name="district system", scopes=["places:read"], place=world.a.neighbourhood, **kwargs
    )


def test_a_second_request_with_the_same_key_makes_fewer_queries(world, client):
    _api_key, full_key = make_key(world)
    with CaptureQueriesContext(connection) as first:
        assert client.get(ESTATES, headers=auth(full_key)).status_code == 200
    with CaptureQueriesContext(connection) as second:
        response = client.get(ESTATES, headers=auth(full_key))
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [world.a.estate.pk]
    # the first reads the key and writes last_used_at; the second neither
    assert len(key_queries(first)) == 2
    assert key_queries(second) == []
    assert len(second) < len(first)


def test_the_cache_holds_neither_the_key_nor_its_hash(world, client):
    api_key, full_key = make_key(world)
    client.get(ESTATES, headers=auth(full_key))
    secret = full_key.rsplit("_", 1)[-1]
    names = [name.split(":", 2)[2] for name in cache._cache]  # LocMemCache: ":1:<name>"
    assert any(name.startswith("apikey:") for name in names)
    for name in names:
        text = name + repr(cache.get(name))
        for needle in (full_key, secret, api_key.key_hash):
            assert needle not in text


def test_a_revoked_key_is_refused_on_the_very_next_request(world, client):
    api_key, full_key = make_key(world)
    assert client.get(ESTATES, headers=auth(full_key)).status_code == 200
    assert client.get(ESTATES, headers=auth(full_key)).status_code == 200  # from the cache
    api_key_revoke(api_key=api_key)
    response = client.get(ESTATES, headers=auth(full_key))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"


def test_an_expired_key_is_refused_though_its_row_is_cached(world, client):
    _api_key, full_key = make_key(world, expires_at=timezone.now() + datetime.timedelta(hours=1))
    assert client.get(ESTATES, headers=auth(full_key)).status_code == 200
    later = timezone.now() + datetime.timedelta(hours=2)
    with (
        mock.patch("django.utils.timezone.now", return_value=later),
        CaptureQueriesContext(connection) as captured,
    ):
        response = client.get(ESTATES, headers=auth(full_key))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_expired"
    assert key_queries(captured) == []  # the cached expires_at decided


def test_an_expiry_set_in_the_admin_holds_on_the_next_request(world, client, superuser):
    api_key, full_key = make_key(world)
    assert client.get(ESTATES, headers=auth(full_key)).status_code == 200
    past = timezone.localtime() - datetime.timedelta(minutes=5)
    admin = type(client)()
    admin.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    response = admin.post(
        reverse("admin:core_apikey_change", args=[api_key.pk]),
        {
            "name": "district system",
            "expires_at_0": past.strftime("%Y-%m-%d"),
            "expires_at_1": past.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302, response.content[:2000]
    api_key.refresh_from_db()
    assert api_key.expires_at is not None
    response = client.get(ESTATES, headers=auth(full_key))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_expired"


def test_last_used_is_still_written_once_per_resolution(world, client):
    api_key, full_key = make_key(world)
    for _ in range(3):
        client.get(ESTATES, headers=auth(full_key))
    api_key.refresh_from_db()
    first = api_key.last_used_at
    assert first is not None
    later = first + datetime.timedelta(seconds=61)
    with mock.patch("django.utils.timezone.now", return_value=later):
        cache.delete(f"apikey:used:{api_key.pk}")  # the marker's own timeout, elapsed
        client.get(ESTATES, headers=auth(full_key))
    api_key.refresh_from_db()
    assert api_key.last_used_at == later


def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_redis_a_key_still_authenticates_from_the_database(world):
    from django.test import Client

    api_key, full_key = make_key(world)
    with override_settings(**redis_settings(f"redis://127.0.0.1:{refused_port()}/0")):
        core_redis.reset_guards()
        client = Client()
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(ESTATES, headers=auth(full_key)).status_code == 200
            assert key_queries(captured)  # read from the database each time
        api_key_revoke(api_key=api_key)
        assert client.get(ESTATES, headers=auth(full_key)).status_code == 401
    core_redis.reset_guards()
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None


class CountingCache:
    """Counts the calls the API-key lookup makes to the default cache."""

    NAMES = ("get", "get_many", "set", "set_many", "add", "delete", "incr", "has_key")

    def __init__(self):
        self.calls: list[str] = []
        self.depth = 0

    def patches(self):
        def counted(name, method):
            def call(*args, **kwargs):
                if self.depth == 0:  # not LocMemCache's own get_many -> get
                    self.calls.append(name)
                self.depth += 1
                try:
                    return method(*args, **kwargs)
                finally:
                    self.depth -= 1

            return call

        return [
            mock.patch.object(cache, name, counted(name, getattr(cache, name)))
            for name in self.NAMES
        ]


def authenticate(full_key):
    from django.test import RequestFactory

    from core.api.authentication import ApiKeyAuthentication

    request = RequestFactory().get(ESTATES, headers=auth(full_key))
    return ApiKeyAuthentication().authenticate(request)


def test_a_cached_key_costs_one_cache_read_though_its_last_use_is_stale(world, client):
    api_key, full_key = make_key(world)
    for _ in range(2):
        assert client.get(ESTATES, headers=auth(full_key)).status_code == 200
    api_key.refresh_from_db()
    written = api_key.last_used_at
    counting = CountingCache()
    patches = counting.patches()
    for patch in patches:
        patch.start()
    try:
        with CaptureQueriesContext(connection) as captured:
            principal, _key = authenticate(full_key)
    finally:
        for patch in reversed(patches):
            patch.stop()
    assert principal.api_key.pk == api_key.pk
    # the row cached by the first request holds no last use; the marker, read with it,
    # says one was written within the resolution: no add, no write
    assert counting.calls == ["get_many"]
    assert key_queries(captured) == []
    api_key.refresh_from_db()
    assert api_key.last_used_at == written


def test_the_marker_is_added_once_the_resolution_has_passed(world, client):
    api_key, full_key = make_key(world)
    assert client.get(ESTATES, headers=auth(full_key)).status_code == 200
    api_key.refresh_from_db()
    later = api_key.last_used_at + datetime.timedelta(seconds=61)
    counting = CountingCache()
    patches = counting.patches()
    for patch in patches:
        patch.start()
    try:
        with mock.patch("django.utils.timezone.now", return_value=later):
            authenticate(full_key)
            authenticate(full_key)  # the marker just written holds
    finally:
        for patch in reversed(patches):
            patch.stop()
    assert counting.calls == ["get_many", "set", "get_many"]
    api_key.refresh_from_db()
    assert api_key.last_used_at == later
