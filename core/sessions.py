"""Sessions in the database with a copy in the cache, which keep working without the cache.

``SESSION_ENGINE = "core.sessions"``. Django's ``cached_db`` backend reads the cache
first and the database on a miss, but a cache that is away raises out of sign-in,
sign-out and every page that saves the session. Here every cache call goes through
the cache alias's :class:`core.redis.CacheGuard`: an error is a miss (read) or a no-op
(write, delete), logged as a warning, and the database, which always holds the
session, answers.

A copy that could not be deleted while the cache was away (a sign-out, a new key at
sign-in) may be found again when the cache returns. So copies live in the cache for at
most ``LINLI_SESSION_CACHE_SECONDS`` (five minutes by default), however long the
session itself lasts: a signed-out session can never come back for longer than that.
"""

from django.conf import settings
from django.contrib.sessions.backends import cached_db

from core.redis import guard_for

DEFAULT_CACHE_SECONDS = 300
WHAT = "sessions"


class SessionStore(cached_db.SessionStore):
    cache_key_prefix = "linli.sessions"

    @property
    def _guard(self):
        return guard_for(settings.SESSION_CACHE_ALIAS)

    @staticmethod
    def _copy_timeout(expiry_age: int) -> int:
        cap = getattr(settings, "LINLI_SESSION_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)
        return max(0, min(expiry_age, cap))

    # --- the cache, guarded -------------------------------------------------------------

    def _cache_get(self, key):
        return self._guard.call(WHAT, self._cache.get, key)

    def _cache_set(self, key, value, expiry_age):
        self._guard.call(WHAT, self._cache.set, key, value, self._copy_timeout(expiry_age))

    def _cache_delete(self, key):
        self._guard.call(WHAT, self._cache.delete, key)

    def _cache_has(self, key) -> bool:
        return bool(self._guard.call(WHAT, self._cache.has_key, key, default=False))

    # --- the store ------------------------------------------------------------------------

    def load(self):
        data = self._cache_get(self.cache_key)
        if data is None:
            s = self._get_session_from_db()
            if s:
                data = self.decode(s.session_data)
                self._cache_set(self.cache_key, data, self.get_expiry_age(expiry=s.expire_date))
            else:
                data = {}
        return data

    def exists(self, session_key):
        if not session_key:
            return False
        # the database holds every session; the cache only answers sooner
        return self._cache_has(self.cache_key_prefix + session_key) or super(
            cached_db.SessionStore, self
        ).exists(session_key)

    def save(self, must_create=False):
        super(cached_db.SessionStore, self).save(must_create)
        self._cache_set(self.cache_key, self._session, self.get_expiry_age())

    def delete(self, session_key=None):
        super(cached_db.SessionStore, self).delete(session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._cache_delete(self.cache_key_prefix + session_key)

    # --- the same, for async views ----------------------------------------------------------

    async def aload(self):
        key = await self.acache_key()
        data = await self._guard.acall(WHAT, self._cache.aget, key)
        if data is None:
            s = await self._aget_session_from_db()
            if s:
                data = self.decode(s.session_data)
                age = await self.aget_expiry_age(expiry=s.expire_date)
                await self._guard.acall(WHAT, self._cache.aset, key, data, self._copy_timeout(age))
            else:
                data = {}
        return data

    async def aexists(self, session_key):
        if not session_key:
            return False
        cached = await self._guard.acall(
            WHAT, self._cache.ahas_key, self.cache_key_prefix + session_key, default=False
        )
        return bool(cached) or await super(cached_db.SessionStore, self).aexists(session_key)

    async def asave(self, must_create=False):
        await super(cached_db.SessionStore, self).asave(must_create)
        age = await self.aget_expiry_age()
        await self._guard.acall(
            WHAT, self._cache.aset, await self.acache_key(), self._session, self._copy_timeout(age)
        )

    async def adelete(self, session_key=None):
        await super(cached_db.SessionStore, self).adelete(session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        await self._guard.acall(WHAT, self._cache.adelete, self.cache_key_prefix + session_key)
