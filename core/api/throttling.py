"""Request budgets: per API key, per signed-in user, per address for anonymous calls.

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` and are read at
request time (DRF itself copies them into a class attribute at import), so
``override_settings`` and a settings change both take effect.

Each budget is counted with two fixed-window counters in the default cache, one per
window of the rate's period, and a sliding window is approximated from them: the
count at a moment is the previous window's count times the part of it still inside
the sliding window, plus the current window's count. A request is allowed while that
estimate, this request included, stays within the rate. The counter costs one round
trip to Redis per request (a pipeline: INCR the current window, EXPIRE it, GET the
previous one) when the default cache is Django's ``RedisCache``; any other backend
(the local memory of the tests, the files of development) is counted through the
cache API (``add``, ``incr``, ``get``: correct, with more round trips). A refused
request is taken back off the counter (one more round trip, only on refusals), so
that a client that keeps calling while refused gets in again once the window allows.

When the cache is away the throttles fail open: the request goes through, a warning
is logged at most once a minute (not per request), and the cache is left alone for a
few seconds before it is asked again (``core.redis.CacheGuard``), so the API keeps
answering and recovers by itself.
"""

from __future__ import annotations

import contextlib
import time

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from core.redis import guard_for

from .authentication import ApiKeyPrincipal

_WHAT = "API throttles"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """``"100/min"`` -> (100, 60): DRF's rate notation (period by its first letter)."""
    if not rate:
        return None
    number, _sep, period = rate.partition("/")
    return int(number), _PERIODS[period.strip()[0]]


class CounterRateThrottle(BaseThrottle):
    """A budget of ``rate`` requests per period, counted over a sliding window.

    Subclasses set ``scope`` and implement :meth:`get_cache_key`, which names whose
    budget a request spends (None: this throttle does not apply).
    """

    scope: str
    cache_alias = DEFAULT_CACHE_ALIAS
    timer = staticmethod(time.time)  # wall clock: the windows are shared by every process

    def __init__(self):
        self._wait = None

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def cache_key_for(self, ident) -> str:
        return f"throttle_{self.scope}_{ident}"

    def allow_request(self, request, view):
        parsed = parse_rate(self.get_rate())
        if parsed is None:
            return True
        base = self.get_cache_key(request, view)
        if base is None:
            return True
        return guard_for(self.cache_alias).call(_WHAT, self._allow, base, *parsed, default=True)

    def wait(self):
        """Seconds until this refused request would be allowed (None when not refused)."""
        return self._wait

    # --- counting ---------------------------------------------------------------------------

    def _allow(self, base: str, limit: int, period: int) -> bool:
        now = self.timer()
        window = int(now // period)
        elapsed = now - window * period
        current_name = f"{base}:{window}"
        previous_name = f"{base}:{window - 1}"
        cache = caches[self.cache_alias]
        if isinstance(cache, RedisCache):
            current, previous = self._hit_redis(cache, current_name, previous_name, period)
        else:
            current, previous = self._hit_cache(cache, current_name, previous_name, period)
        # previous x (period - elapsed) / period + current <= limit, without the division
        if previous * (period - elapsed) + current * period <= limit * period:
            return True
        # refused: it does not spend the budget
        if isinstance(cache, RedisCache):
            self._undo_redis(cache, current_name)
        else:
            self._undo_cache(cache, current_name)
        self._wait = self._seconds_to_wait(limit, period, elapsed, current - 1, previous)
        return False

    @staticmethod
    def _hit_redis(cache, current_name, previous_name, period) -> tuple[int, int]:
        """One round trip: INCR the current window, EXPIRE it, GET the previous window."""
        current_key = cache.make_key(current_name)
        previous_key = cache.make_key(previous_name)
        client = cache._cache.get_client(current_key, write=True)
        pipe = client.pipeline(transaction=True)
        pipe.incr(current_key)
        pipe.expire(current_key, 2 * period)
        pipe.get(previous_key)
        current, _expired, previous = pipe.execute()
        return int(current), int(previous or 0)

    @staticmethod
    def _undo_redis(cache, current_name) -> None:
        current_key = cache.make_key(current_name)
        cache._cache.get_client(current_key, write=True).decr(current_key)

    @staticmethod
    def _hit_cache(cache, current_name, previous_name, period) -> tuple[int, int]:
        """The same through Django's cache API, for backends other than Redis."""
        cache.add(current_name, 0, timeout=2 * period)
        try:
            current = cache.incr(current_name)
        except ValueError:  # expired between add and incr
            cache.set(current_name, 1, timeout=2 * period)
            current = 1
        previous = cache.get(previous_name) or 0
        return int(current), int(previous)

    @staticmethod
    def _undo_cache(cache, current_name) -> None:
        with contextlib.suppress(ValueError):  # expired meanwhile: nothing to take back
            cache.decr(current_name)

    @staticmethod
    def _seconds_to_wait(limit, period, elapsed, current, previous) -> float:
        """How long until one more request fits, if no other request comes meanwhile.

        Within this window the previous window's share shrinks as time passes; once
        this window ends, its count becomes the previous one and shrinks in turn.
        Capped at one period: a budget spent early in a window can count for longer
        under the approximation (up to two periods), but a client is never asked to
        wait more than the rate's period, as before; one that comes back too early is
        refused again with a fresh wait.
        """
        if limit <= 0:
            return float(period)
        room = limit - 1 - current  # what the previous window's share must fall to
        if room >= 0 and previous > 0:
            # previous x (period - at) / period <= room, ``at`` the elapsed time then
            at = period * (previous - room) / previous
            return min(max(at - elapsed, 1.0), float(period))
        # the next window: this one's count is then the previous one, shrinking alike
        at_next = period * (current - (limit - 1)) / current if current > 0 else 0.0
        return min(max(period - elapsed + max(at_next, 0.0), 1.0), float(period))


class ApiKeyRateThrottle(CounterRateThrottle):
    """Per-key budget for district systems."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.user, ApiKeyPrincipal):
            return self.cache_key_for(request.user.api_key.pk)
        return None


class UserRateThrottle(CounterRateThrottle):
    """Per-user budget for browser sessions."""

    scope = "user"

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiKeyPrincipal) or not (user and user.is_authenticated):
            return None
        return self.cache_key_for(user.pk)


class AnonRateThrottle(CounterRateThrottle):
    """Per-address budget for anonymous calls (schema, docs)."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_key_for(self.get_ident(request))
