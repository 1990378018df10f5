"""The API's throttles count with two fixed-window counters, in one round trip to Redis.

``core.api.throttling``: the estimate is the previous window's count times the part of
it still inside the sliding window plus the current window's count; a refused request
does not count and gets a ``Retry-After``; with Redis, a throttle costs one pipeline
per request and the API-key lookup one ``MGET``; when the cache fails, requests go on.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from unittest import mock

import pytest
import redis
import redis.client
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client, override_settings
from redis.exceptions import ConnectionError as RedisConnectionError

from core import redis as core_redis
from core.api import throttling
from core.api.authentication import ApiKeyAuthentication
from core.redis import redis_cache_settings

pytestmark = pytest.mark.django_db

DWELLINGS = "/api/v1/dwellings/"
MINUTE = 60
T0 = 1_800_000_000 // MINUTE * MINUTE  # the start of a one-minute window


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()
    core_redis.reset_guards()
    yield
    core_redis.reset_guards()


def _rates(**rates):
    return {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "1000/min", "user": "1000/min", "anon": "1000/min"}
        | rates,
    }


class Clock:
    """A stand-in for the throttles' timer (not a descriptor: patched on the class)."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@contextmanager
def clock_at(now):
    clock = Clock(now)
    with (
        mock.patch.object(throttling.ApiKeyRateThrottle, "timer", clock),
        mock.patch.object(throttling.UserRateThrottle, "timer", clock),
    ):
        yield clock


def statuses(client, headers, times, url=DWELLINGS):
    return [client.get(url, headers=headers).status_code for _ in range(times)]


# --- budgets on the local cache -------------------------------------------------------------


def test_a_key_gets_exactly_its_budget_and_then_a_429_with_retry_after(
    world, client, api_key_headers
):
    key, headers = api_key_headers(world.a.neighbourhood)
    with override_settings(REST_FRAMEWORK=_rates(api_key="5/min")), clock_at(T0 + 15):
        assert statuses(client, headers, 5) == [200] * 5
        response = client.get(DWELLINGS, headers=headers)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "throttled"
        # one more fits when the window has ended (45 s) and a fifth of it has passed
        # again (12 s): the five then count 5 x 4/5 = 4
        assert response["Retry-After"] == "57"
        assert client.get(DWELLINGS, headers=headers).status_code == 429
    # two counters, the refused requests not among them
    assert cache.get(f"throttle_api_key_{key.pk}:{T0 // MINUTE}") == 5


def test_a_user_gets_exactly_their_budget(world, login):
    session = login(world.a.cadre)
    with override_settings(REST_FRAMEWORK=_rates(user="3/min")), clock_at(T0):
        assert [session.get(DWELLINGS).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert cache.get(f"throttle_user_{world.a.cadre.pk}:{T0 // MINUTE}") == 3


def test_the_window_slides(world, client, api_key_headers):
    _key, headers = api_key_headers(world.a.neighbourhood)
    with override_settings(REST_FRAMEWORK=_rates(api_key="10/min")), clock_at(T0) as clock:
        assert statuses(client, headers, 11) == [200] * 10 + [429]
        # half-way into the next window the last one's ten count for five
        clock.now = T0 + MINUTE + 30
        assert statuses(client, headers, 6) == [200] * 5 + [429]
        # three quarters in: 10 x 1/4 + 5 = 7.5, so two more fit
        clock.now = T0 + MINUTE + 45
        assert statuses(client, headers, 3) == [200, 200, 429]
        # a window later the seven of the last one count for 7 x 3/4 = 5.25
        clock.now = T0 + 2 * MINUTE + 15
        assert statuses(client, headers, 5) == [200] * 4 + [429]


def test_a_refused_client_gets_in_again_when_the_window_allows(world, client, api_key_headers):
    _key, headers = api_key_headers(world.a.neighbourhood)
    with override_settings(REST_FRAMEWORK=_rates(api_key="2/min")), clock_at(T0 + 50) as clock:
        assert statuses(client, headers, 2) == [200, 200]
        response = client.get(DWELLINGS, headers=headers)
        wait = int(response["Retry-After"])
        assert wait == 10 + 30  # the window's end, then until 2 x (1 - t/60) + 1 <= 2
        assert statuses(client, headers, 20) == [429] * 20  # refusals spend nothing
        clock.now += wait - 1
        assert client.get(DWELLINGS, headers=headers).status_code == 429
        clock.now += 1
        assert client.get(DWELLINGS, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("limit", "elapsed", "current", "previous", "expected"),
    [
        # full: the next window, then until 5 x (1 - t/60) + 1 <= 5, t = 12
        (5, 15, 5, 0, 57),
        # 10 x (1 - t/60) + 5 + 1 <= 10 from t = 36 on, 6 s after 30
        (10, 30, 5, 10, 6),
        # a budget of one spent at a window's start counts whole until the next ends
        # (120 s), but the wait asked for is capped at the period
        (1, 0, 1, 0, 60),
        (5, 5, 5, 0, 60),
        # never less than a second
        (10, 35.9, 5, 10, 1),
    ],
)
def test_the_wait_is_until_one_more_fits(limit, elapsed, current, previous, expected):
    wait = throttling.CounterRateThrottle._seconds_to_wait(
        limit, MINUTE, elapsed, current, previous
    )
    assert wait == pytest.approx(expected)


# --- fail open -------------------------------------------------------------------------------


class CounterlessCache(LocMemCache):
    """A local cache whose counters fail as redis-py does when its server is away."""

    def incr(self, *args, **kwargs):
        raise RedisConnectionError("Connection refused")


def test_the_throttles_fail_open_when_the_counters_fail(settings, world, api_key_headers):
    settings.CACHES = {
        "default": {
            "BACKEND": f"{__name__}.CounterlessCache",
            "LOCATION": "throttle-counterless",
        }
    }
    settings.REST_FRAMEWORK = _rates(api_key="1/min")
    _key, headers = api_key_headers(world.a.neighbourhood)
    core_redis.reset_guards()
    assert statuses(Client(), headers, 4) == [200] * 4
    assert core_redis.guard_for("default").is_open


# --- with Redis ------------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.3).ping())
    except (redis.RedisError, OSError):
        return False


needs_redis = pytest.mark.skipif(not _redis_reachable(), reason=f"no Redis at {REDIS_URL}")


@pytest.fixture
def redis_cache():
    prefix = f"linli-test-{uuid.uuid4().hex[:12]}"
    built = redis_cache_settings(REDIS_URL, connect_timeout=0.5, read_timeout=0.5)
    built["default"]["KEY_PREFIX"] = prefix
    with override_settings(CACHES=built):
        core_redis.reset_guards()
        try:
            yield caches["default"]
        finally:
            client = redis.Redis.from_url(REDIS_URL)
            names = list(client.scan_iter(match=f"{prefix}:*"))
            if names:
                client.delete(*names)
            client.close()
            core_redis.reset_guards()


class RoundTrips:
    """Every round trip to Redis, named by the part of the request that made it."""

    def __init__(self):
        self.phase = "other"
        self.calls: list[tuple[str, str]] = []

    @contextmanager
    def recording(self):
        log = self
        execute_command = redis.client.Redis.execute_command
        execute = redis.client.Pipeline.execute

        def one_command(client, *args, **kwargs):
            log.calls.append((log.phase, str(args[0])))
            return execute_command(client, *args, **kwargs)

        def one_pipeline(pipe, *args, **kwargs):
            log.calls.append((log.phase, "pipeline"))
            return execute(pipe, *args, **kwargs)

        def in_phase(phase, func):
            def wrapped(*args, **kwargs):
                log.phase = phase
                try:
                    return func(*args, **kwargs)
                finally:
                    log.phase = "other"

            return wrapped

        with (
            mock.patch.object(redis.client.Redis, "execute_command", one_command),
            mock.patch.object(redis.client.Pipeline, "execute", one_pipeline),
            mock.patch.object(
                ApiKeyAuthentication,
                "authenticate",
                in_phase("authentication", ApiKeyAuthentication.authenticate),
            ),
        ):
            patches = [
                mock.patch.object(cls, "allow_request", in_phase("throttle", cls.allow_request))
                for cls in (
                    throttling.ApiKeyRateThrottle,
                    throttling.UserRateThrottle,
                    throttling.AnonRateThrottle,
                )
            ]
            for patch in patches:
                patch.start()
            try:
                yield self
            finally:
                for patch in reversed(patches):
                    patch.stop()

    def of(self, phase):
        return [command for name, command in self.calls if name == phase]


@needs_redis
def test_one_round_trip_each_for_the_throttle_and_the_key(redis_cache, world, api_key_headers):
    _key, headers = api_key_headers(world.a.neighbourhood)
    client = Client()
    assert statuses(client, headers, 2) == [200, 200]  # the key's row and marker cached
    trips = RoundTrips()
    with trips.recording():
        assert client.get(DWELLINGS, headers=headers).status_code == 200
    assert trips.of("throttle") == ["pipeline"]
    assert trips.of("authentication") == ["MGET"]
    # the key's jurisdiction came with the key's own MGET: no round trip of its own
    assert trips.of("other") == []


@needs_redis
def test_the_keys_scope_follows_a_change_of_the_place_tree(redis_cache, world, api_key_headers):
    """The scope read with the key is believed only while the places' version holds: a
    neighbourhood moved out from under the key's subdistrict leaves its jurisdiction at once."""
    from core.scoping import places_changed
    from tests.factories import SubdistrictFactory

    _key, headers = api_key_headers(world.subdistrict)
    client = Client()
    seen = {row["id"] for row in client.get(DWELLINGS, headers=headers).json()["results"]}
    assert world.a.dwelling.pk in seen and world.b.dwelling.pk in seen
    assert client.get(DWELLINGS, headers=headers).status_code == 200  # the scope cached
    neighbourhood = world.b.neighbourhood
    neighbourhood.subdistrict = SubdistrictFactory(district=world.district)
    neighbourhood.save()
    places_changed()
    seen = {row["id"] for row in client.get(DWELLINGS, headers=headers).json()["results"]}
    assert world.a.dwelling.pk in seen and world.b.dwelling.pk not in seen


@needs_redis
def test_the_redis_counter_holds_the_budget_and_a_refusal_does_not_count(
    redis_cache, world, api_key_headers
):
    key, headers = api_key_headers(world.a.neighbourhood)
    client = Client()
    with override_settings(REST_FRAMEWORK=_rates(api_key="3/min")), clock_at(T0 + 30):
        assert statuses(client, headers, 5) == [200, 200, 200, 429, 429]
        response = client.get(DWELLINGS, headers=headers)
        assert response.status_code == 429
        assert int(response["Retry-After"]) == 30 + 20  # the window's end, then a third
    name = f"throttle_api_key_{key.pk}:{T0 // MINUTE}"
    assert redis_cache.get(name) == 3  # the refused three were taken back
    raw = redis.Redis.from_url(REDIS_URL)
    try:
        assert 0 < raw.ttl(redis_cache.make_key(name)) <= 2 * MINUTE
    finally:
        raw.close()


@needs_redis
def test_the_throttles_fail_open_when_redis_fails(redis_cache, world, api_key_headers, caplog):
    _key, headers = api_key_headers(world.a.neighbourhood)

    def refused(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    client = Client()
    with (
        override_settings(REST_FRAMEWORK=_rates(api_key="1/min")),
        mock.patch.object(redis.client.Pipeline, "execute", refused),
        caplog.at_level("WARNING", logger="core.redis"),
    ):
        assert statuses(client, headers, 3) == [200] * 3
    warnings = [r for r in caplog.records if r.name == "core.redis"]
    assert len(warnings) == 1 and "API throttles" in warnings[0].getMessage()
