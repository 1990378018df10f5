"""The site without Redis, and without PostgreSQL.

Redis away - unreachable (a local port nothing listens on) or frozen (a local server
that accepts connections and never answers, as a stopped Redis process does): sign-in,
a page, an API call with a key and /healthz still answer within 2 s (sessions from the
database, throttles open), and /readyz answers 503 naming the cache and the broker
within 3 s. The settings are rebuilt with ``core.redis.redis_settings``, the function
the settings modules use, pointed at the fake server.

The database away: the API answers 503 in its error shape and the site a translated
"temporarily unavailable" page, both with Retry-After, without a 500.
"""

import logging
import socket
import threading
import time
from contextlib import ExitStack, contextmanager
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import InterfaceError, OperationalError, connections
from django.test import Client, override_settings
from django.utils import translation
from redis.exceptions import ConnectionError as RedisConnectionError

from core import redis as core_redis
from core.redis import redis_settings
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PAGE_BUDGET = 2.0  # seconds: sign-in, a page, an API call, /healthz
READYZ_BUDGET = 3.0  # seconds


# --- fake Redis servers -------------------------------------------------------------------


def refused_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FrozenServer:
    """Accepts every connection on a loopback port and never sends a byte.

    Each connection is dropped after ``hold`` seconds, so a client without a read
    timeout fails the test by being late instead of hanging it.
    """

    def __init__(self, hold=5.0):
        self.hold = hold
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self._stop.is_set():
            now = time.monotonic()
            while self.held and now - self.held[0][1] > self.hold:
                self.held.pop(0)[0].close()
            try:
                conn, _addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.held.append((conn, now))  # never read, never answered

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=2)
        for conn, _since in self.held:
            conn.close()
        self.sock.close()


def _close_caches():
    for cache in caches.all(initialized_only=True):
        client = getattr(cache, "_cache", None)
        for pool in getattr(client, "_pools", {}).values():
            pool.disconnect()


@contextmanager
def redis_at(url):
    """The running settings with every Redis client built for ``url``."""
    core_redis.reset_guards()
    try:
        # override_settings(CACHES=...) resets django.core.cache.caches' connections
        with override_settings(**redis_settings(url)):
            try:
                yield
            finally:
                _close_caches()
    finally:
        core_redis.reset_guards()


@pytest.fixture(params=["unreachable", "frozen"])
def redis_down(request):
    if request.param == "unreachable":
        with redis_at(f"redis://127.0.0.1:{refused_port()}/0"):
            yield request.param
    else:
        with FrozenServer() as server, redis_at(f"redis://127.0.0.1:{server.port}/0"):
            yield request.param


@contextmanager
def within(seconds):
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.2f}s, more than {seconds}s"


# --- Redis away ------------------------------------------------------------------------------


def test_the_settings_give_every_redis_client_short_timeouts():
    built = redis_settings("redis://redis.example:6379/0", connect_timeout=0.5, read_timeout=0.4)
    options = built["CACHES"]["default"]["OPTIONS"]
    assert options == {"socket_connect_timeout": 0.5, "socket_timeout": 0.4}
    assert built["CELERY_BROKER_TRANSPORT_OPTIONS"] == {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 0.4,
    }
    assert built["CELERY_REDIS_SOCKET_CONNECT_TIMEOUT"] == 0.5
    assert built["CELERY_REDIS_SOCKET_TIMEOUT"] == 0.4
    assert built["SESSION_ENGINE"] == "core.sessions"


def test_production_builds_its_redis_clients_with_the_timeouts(
    monkeypatch, production_settings_module
):
    prod = production_settings_module
    assert prod.SESSION_ENGINE == "core.sessions"
    assert prod.CACHES["default"]["OPTIONS"] == {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 0.5,
    }
    assert prod.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"] == 0.5
    assert prod.CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] == 0.5
    assert prod.CELERY_REDIS_SOCKET_TIMEOUT == 0.5
    assert prod.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


def test_the_timeouts_come_from_the_environment(monkeypatch, production_settings_module):
    import importlib
    import sys

    monkeypatch.setenv("REDIS_CONNECT_TIMEOUT", "0.2")
    monkeypatch.setenv("REDIS_READ_TIMEOUT", "0.3")
    for name in ("config.settings.production", "config.settings.base"):
        monkeypatch.delitem(sys.modules, name)
    try:
        prod = importlib.import_module("config.settings.production")
        assert prod.CACHES["default"]["OPTIONS"] == {
            "socket_connect_timeout": 0.2,
            "socket_timeout": 0.3,
        }
        assert prod.CELERY_BROKER_TRANSPORT_OPTIONS == {
            "socket_connect_timeout": 0.2,
            "socket_timeout": 0.3,
        }
    finally:
        monkeypatch.delenv("REDIS_CONNECT_TIMEOUT")
        monkeypatch.delenv("REDIS_READ_TIMEOUT")
        sys.modules.pop("config.settings.production", None)
        sys.modules.pop("config.settings.base", None)
        importlib.import_module("config.settings.base")


def test_sign_in_and_a_page_answer_without_redis(redis_down):
    user = UserFactory(name="王阿姨")
    client = Client()
    with within(PAGE_BUDGET):
        response = client.post("/accounts/login/", {"username": user.phone, "password": PASSWORD})
    assert response.status_code == 302, response.content
    # the session is in the database, which alone knows it while Redis is away
    key = client.cookies["sessionid"].value
    assert Session.objects.filter(session_key=key).exists()

    with within(PAGE_BUDGET):
        response = client.get("/")
    assert response.status_code == 200
    assert "王阿姨" in response.content.decode()

    with within(PAGE_BUDGET):
        response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()


def test_an_api_call_with_a_key_answers_without_redis(redis_down, world, api_key_headers):
    _key, headers = api_key_headers(world.a.neighbourhood)
    client = Client()
    for _ in range(3):
        with within(PAGE_BUDGET):
            response = client.get("/api/v1/estates/", headers=headers)
        assert response.status_code == 200, response.content
        assert [row["id"] for row in response.json()["results"]] == [world.a.estate.pk]


def test_the_schema_answers_without_redis(redis_down):
    with within(PAGE_BUDGET * 2):  # the schema is built on the first call
        response = Client().get("/api/schema/")
    assert response.status_code == 200


def test_healthz_answers_without_redis(redis_down):
    with within(PAGE_BUDGET):
        response = Client().get("/healthz")
    assert response.status_code == 200


def test_readyz_names_the_cache_and_the_broker_without_redis(redis_down):
    with within(READYZ_BUDGET):
        response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache", "broker"]
    assert body["checks"]["database"] == {"ok": True}


def test_three_readyz_at_once_do_not_hold_the_site(redis_down, world):
    """The finding: pending probes used to hold every worker until gunicorn's timeout."""
    answers = []

    def probe():
        answers.append(Client().get("/readyz").status_code)

    with within(READYZ_BUDGET):
        threads = [threading.Thread(target=probe) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=READYZ_BUDGET)
    assert answers == [503, 503, 503]


def test_a_throttle_warning_is_logged_once_not_per_request(
    redis_down, world, api_key_headers, caplog
):
    _key, headers = api_key_headers(world.a.neighbourhood)
    core_redis.reset_guards()  # the fixtures' grants already met the missing cache
    client = Client()
    with caplog.at_level(logging.WARNING, logger="core.redis"):
        for _ in range(5):
            assert client.get("/api/v1/estates/", headers=headers).status_code == 200
        # past the guard's pause: the cache is asked again, and fails again
        core_redis.guard_for("default")._skip_until = 0.0
        assert client.get("/api/v1/estates/", headers=headers).status_code == 200
    warnings = [r for r in caplog.records if r.name == "core.redis"]
    assert len(warnings) == 1
    assert "unavailable" in warnings[0].getMessage()


# --- a cache that goes away and comes back ---------------------------------------------------


class FlakyCache(LocMemCache):
    """A local cache that raises as redis-py does while ``down`` is set."""

    down = False

    def _check(self):
        if FlakyCache.down:
            raise RedisConnectionError("Connection refused")

    def get(self, *args, **kwargs):
        self._check()
        return super().get(*args, **kwargs)

    def set(self, *args, **kwargs):
        self._check()
        return super().set(*args, **kwargs)

    def add(self, *args, **kwargs):
        self._check()
        return super().add(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._check()
        return super().delete(*args, **kwargs)

    def has_key(self, *args, **kwargs):
        self._check()
        return super().has_key(*args, **kwargs)


@pytest.fixture
def flaky_cache(settings):
    core_redis.reset_guards()
    FlakyCache.down = False
    settings.CACHES = {
        "default": {"BACKEND": f"{__name__}.FlakyCache", "LOCATION": "resilience-flaky"}
    }
    settings.SESSION_ENGINE = "core.sessions"
    settings.REDIS_RETRY_SECONDS = 60
    caches["default"].clear()
    yield FlakyCache
    FlakyCache.down = False
    core_redis.reset_guards()


def _pass_the_pause():
    for guard in core_redis._guards.values():
        guard._skip_until = 0.0


def test_throttles_fail_open_and_count_again_when_the_cache_returns(
    flaky_cache, settings, world, api_key_headers
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "2/min", "user": "2/min", "anon": "2/min"},
    }
    _key, headers = api_key_headers(world.a.neighbourhood)
    client = Client()
    flaky_cache.down = True
    statuses = [client.get("/api/v1/estates/", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 200]  # open while the counters cannot be read

    flaky_cache.down = False
    _pass_the_pause()
    statuses = [client.get("/api/v1/estates/", headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]  # counted again, by itself


def test_sessions_go_to_the_database_and_back_to_the_cache(flaky_cache):
    from core.sessions import SessionStore

    user = UserFactory()
    client = Client()
    flaky_cache.down = True
    assert (
        client.post("/accounts/login/", {"username": user.phone, "password": PASSWORD}).status_code
        == 302
    )
    key = client.cookies["sessionid"].value
    assert client.get("/accounts/profile/").status_code == 200

    flaky_cache.down = False
    _pass_the_pause()
    assert client.get("/accounts/profile/").status_code == 200
    # read from the database once, then kept in the cache again
    assert caches["default"].get(SessionStore.cache_key_prefix + key) is not None


def test_a_session_copy_is_kept_only_briefly_in_the_cache(flaky_cache, settings):
    from core.sessions import SessionStore

    settings.LINLI_SESSION_CACHE_SECONDS = 300
    store = SessionStore()
    store["k"] = "v"
    store.create()
    cache = caches["default"]
    expires = cache._expire_info[cache.make_and_validate_key(store.cache_key)]
    assert expires - time.time() <= 301  # not the session's two weeks


def test_a_signed_out_session_is_not_revived_by_the_cache(flaky_cache):
    """Signed out while the cache is away, its stale copy must not sign it in again."""
    user = UserFactory()
    client = Client()
    client.post("/accounts/login/", {"username": user.phone, "password": PASSWORD})
    key = client.cookies["sessionid"].value
    assert client.get("/accounts/profile/").status_code == 200  # a copy in the cache now

    flaky_cache.down = True
    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()

    flaky_cache.down = False
    _pass_the_pause()
    # the stale copy outlives no more than LINLI_SESSION_CACHE_SECONDS
    cache = caches["default"]
    from core.sessions import SessionStore

    stale = cache.make_and_validate_key(SessionStore.cache_key_prefix + key)
    assert cache._expire_info[stale] - time.time() <= 301


# --- the database away -----------------------------------------------------------------------


@pytest.fixture
def key_headers(world, api_key_headers):
    return api_key_headers(world.a.neighbourhood)[1]


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_api_is_503_in_the_error_shape_with_retry_after(key_headers, request, error):
    client = Client(raise_request_exception=False)
    with _database_refusing(error):
        response = client.get("/api/v1/estates/", headers=key_headers)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.json()
    assert body["error"]["status"] == 503
    assert body["error"]["code"] == "unavailable"
    assert body["error"]["retry_after"] == 30
    with translation.override("zh-hans"):
        expected = translation.gettext(
            "The service is temporarily unavailable. Please try again in a moment."
        )
    assert body["error"]["message"] == expected
    assert "10.0.3.2" not in response.content.decode()


def test_a_signed_in_api_session_is_503_too(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.a.cadre, backend="django.contrib.auth.backends.ModelBackend")
    with _database_refusing(OperationalError):
        response = client.get("/api/v1/estates/")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_a_page_is_a_translated_503_while_the_database_is_down(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.a.cadre, backend="django.contrib.auth.backends.ModelBackend")
    with _database_refusing(OperationalError):
        response = client.get("/")
        english = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in response
    with translation.override("zh-hans"):
        title = translation.gettext("Temporarily unavailable")
    assert title in response.content.decode()
    assert "10.0.3.2" not in response.content.decode()
    assert english.status_code == 503
    assert "Temporarily unavailable" in english.content.decode()
    assert english["Content-Language"] == "en"


def test_sign_in_is_a_503_while_the_database_is_down(world):
    client = Client(raise_request_exception=False)
    with _database_refusing(OperationalError):
        response = client.post(
            "/accounts/login/", {"username": world.a.cadre.phone, "password": PASSWORD}
        )
    assert response.status_code == 503


def test_other_errors_are_still_500():
    from django.urls import path

    from core.pages import public_page

    @public_page
    def broken(request):
        raise RuntimeError("a bug")

    urlconf = type("urls", (), {"urlpatterns": [path("broken/", broken)]})
    client = Client(raise_request_exception=False)
    with override_settings(ROOT_URLCONF=urlconf):
        assert client.get("/broken/").status_code == 500


def test_the_site_answers_again_when_the_database_returns(world, key_headers):
    client = Client(raise_request_exception=False)
    with _database_refusing(OperationalError):
        assert client.get("/api/v1/estates/", headers=key_headers).status_code == 503
    assert client.get("/api/v1/estates/", headers=key_headers).status_code == 200


@contextmanager
def _database_refusing(error):
    def refuse(*args, **kwargs):
        raise error('connection to server at "db" (10.0.3.2), port 5432 failed')

    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(mock.patch.object(connections[alias], "cursor", refuse))
        yield


def test_the_api_handler_alone_answers_503(settings, key_headers):
    """The API's exception handler maps the error itself, middleware or not."""
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "core.middleware.DatabaseUnavailableMiddleware"
    ]
    client = Client(raise_request_exception=False)
    with _database_refusing(OperationalError):
        response = client.get("/api/v1/estates/", headers=key_headers)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "unavailable"
