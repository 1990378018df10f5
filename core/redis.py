"""Redis clients that give up fast, and the guard that lets requests go on without Redis.

Redis holds the cache, the sessions' cached copies, the API's throttle counters, the
Celery queue and the task results. None of that may hold a web worker for long: a
frozen Redis (the process stopped, the TCP connection still accepted) must cost a
request well under a second, and a stopped Redis must not cost a 500.

* :func:`redis_settings` builds every setting that names a Redis client (cache,
  session engine, Celery broker and result backend) with connect and read timeouts.
  The settings modules call it at import; a test calls it with another URL and hands
  the result to ``override_settings``, so both build the clients the same way.
* :class:`CacheGuard` wraps the calls the request path makes to the cache (sessions,
  throttles): an error is logged (at most once a minute) and answered with a default;
  for ``retry_seconds`` afterwards the cache is not asked at all, so a frozen Redis
  costs one read timeout per process, not one per call. It asks again afterwards, so
  everything recovers by itself when Redis returns.

This module is imported by the settings: it must not import Django's settings,
models or cache at import time.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 0.5  # seconds
DEFAULT_READ_TIMEOUT = 0.5  # seconds
DEFAULT_RETRY_SECONDS = 5.0  # how long a failed cache is left alone before it is asked again
WARN_EVERY_SECONDS = 60.0

SESSION_ENGINE = "core.sessions"


def is_redis_url(url: str | None) -> bool:
    return bool(url) and url.split("://", 1)[0] in ("redis", "rediss", "redis+socket")


def redis_cache_settings(url: str, *, connect_timeout: float, read_timeout: float) -> dict:
    """``CACHES`` for one Redis server, with its timeouts passed to redis-py's pool."""
    return {
        "default": {
            "BACKEND": "core.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "linli",
            "OPTIONS": {
                "socket_connect_timeout": connect_timeout,
                "socket_timeout": read_timeout,
            },
        }
    }


def broker_transport_options(url: str, *, connect_timeout: float, read_timeout: float) -> dict:
    """kombu's Redis transport options (``CELERY_BROKER_TRANSPORT_OPTIONS``).

    Without ``socket_timeout`` a publish or a probe on a frozen Redis waits forever.
    """
    if not is_redis_url(url):
        return {}
    return {"socket_connect_timeout": connect_timeout, "socket_timeout": read_timeout}


def redis_settings(
    redis_url: str,
    *,
    broker_url: str | None = None,
    result_backend: str | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> dict:
    """Every setting that builds a Redis client, by setting name.

    The broker and the result backend default to ``redis_url``.
    """
    broker_url = broker_url or redis_url
    result_backend = result_backend or redis_url
    return {
        "CACHES": redis_cache_settings(
            redis_url, connect_timeout=connect_timeout, read_timeout=read_timeout
        ),
        "SESSION_ENGINE": SESSION_ENGINE,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_BROKER_TRANSPORT_OPTIONS": broker_transport_options(
            broker_url, connect_timeout=connect_timeout, read_timeout=read_timeout
        ),
        "CELERY_RESULT_BACKEND": result_backend,
        # celery's Redis result backend reads these two
        "CELERY_REDIS_SOCKET_CONNECT_TIMEOUT": connect_timeout,
        "CELERY_REDIS_SOCKET_TIMEOUT": read_timeout,
        "REDIS_CONNECT_TIMEOUT": connect_timeout,
        "REDIS_READ_TIMEOUT": read_timeout,
    }


def cache_errors() -> tuple[type[BaseException], ...]:
    """What a cache backend raises when its server is away (redis-py's errors, sockets)."""
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - redis is a runtime dependency
        return (OSError,)
    return (RedisError, OSError)


class CacheGuard:
    """Calls to one cache alias that a missing server turns into defaults.

    One guard per cache alias and process (:func:`guard_for`), shared by every
    thread: its state is a time stamp, read and written without a lock (the worst a
    race does is one more call to the cache or one more warning).
    """

    def __init__(self, alias: str):
        self.alias = alias
        self._skip_until = 0.0
        self._warned_at = None

    def reset(self) -> None:
        self._skip_until = 0.0
        self._warned_at = None

    @property
    def is_open(self) -> bool:
        """True while the cache is being left alone after an error."""
        return time.monotonic() < self._skip_until

    def call(self, what: str, func, *args, default=None, **kwargs):
        """``func(*args, **kwargs)``, or ``default`` when the cache is away."""
        if self.is_open:
            return default
        try:
            return func(*args, **kwargs)
        except cache_errors() as exc:
            self.failed(what, exc)
            return default

    async def acall(self, what: str, func, *args, default=None, **kwargs):
        """The same as :meth:`call` for a coroutine function."""
        if self.is_open:
            return default
        try:
            return await func(*args, **kwargs)
        except cache_errors() as exc:
            self.failed(what, exc)
            return default

    def failed(self, what: str, exc: BaseException) -> None:
        from django.conf import settings

        now = time.monotonic()
        retry = getattr(settings, "REDIS_RETRY_SECONDS", DEFAULT_RETRY_SECONDS)
        self._skip_until = now + retry
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "cache %r unavailable (%s: %s); %s go on without it, retried every %ss",
                self.alias,
                exc.__class__.__name__,
                exc,
                what,
                retry,
            )


_guards: dict[str, CacheGuard] = {}
_guards_lock = threading.Lock()


def guard_for(alias: str) -> CacheGuard:
    guard = _guards.get(alias)
    if guard is None:
        with _guards_lock:
            guard = _guards.setdefault(alias, CacheGuard(alias))
    return guard


def reset_guards() -> None:
    """Forget every failure (tests; a settings change)."""
    for guard in list(_guards.values()):
        guard.reset()


# --- the cache backend ---------------------------------------------------------------------


class _ReusedClients(RedisCacheClient):
    """Django's Redis cache client builds a new ``redis.Redis`` for every cache call (its
    ``__init__`` fills a table of about 170 response callbacks: about a tenth of a
    millisecond, several times a request). A client over a connection pool is
    thread-safe and holds no connection of its own, so one per pool is kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(index)
            client = self._clients[index] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with one client per pool."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ReusedClients
