"""How the API knows who calls: an API key, or a browser session with two-factor done.

`Authorization: Api-Key <key>` is for district systems. A key authenticates as an
:class:`ApiKeyPrincipal`: not a User, but something ``core.scoping.scope_for``
understands - its scope is the key's jurisdiction. Failures are 401s whose ``code``
says why (unknown, revoked, expired key). The key's row (never its secret nor its hash)
is kept in the cache for ``LINLI_API_KEY_CACHE_SECONDS`` under a name derived from the
key's hash, valid while the key's generation in the cache holds: revoking a key, or
changing it in the admin, draws a new generation (:func:`forget_cached_key`), so it
takes effect on the very next request. Expiry is checked on every request; without
the cache, every request reads the database as before. One ``get_many`` fetches the
row, its generation and the last-used marker together, so a request with a cached key
costs one round trip to the cache.

A browser session (:class:`SessionAuthentication`, DRF's with CSRF on writes) opens the
API to staff only once the session is OTP-verified when ``LINLI_STAFF_2FA_REQUIRED`` is
on, the same rule as the pages (:func:`two_factor_pending`, which
``accounts.middleware`` applies to them): otherwise a 403 asking to finish two-factor
sign-in.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from core.models import ApiKey, hash_api_key
from core.redis import guard_for
from core.scoping import DEFAULT_CACHE_SECONDS as DEFAULT_SCOPE_SECONDS
from core.scoping import PLACES_VERSION_KEY, Scope, place_scope

KEYWORD = "Api-Key"
KEY_TAG = "linli"


def two_factor_pending(user) -> bool:
    """Whether ``user`` must verify a second factor before staff pages and the API open.

    True for a signed-in staff member or superuser whose session is not OTP-verified
    (django-otp's ``is_verified``) while ``settings.LINLI_STAFF_2FA_REQUIRED`` is on.
    A user object without ``is_verified`` (django-otp's middleware missing) counts as
    not verified.
    """
    if not getattr(settings, "LINLI_STAFF_2FA_REQUIRED", False):
        return False
    if user is None or not user.is_authenticated or isinstance(user, ApiKeyPrincipal):
        return False
    if not (user.is_staff or user.is_superuser):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified is not None and is_verified())


class ApiKeyPrincipal:
    """Who made a request with an API key. Truthy for ``is_authenticated``."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, api_key: ApiKey, *, scope_found: tuple | None = None):
        self.api_key = api_key
        self._scope = None
        # (the places' version, the key's scope entry, its cache name), as the key's own
        # cache read found them: a scope still in step costs no round trip of its own
        self._scope_found = scope_found

    def __str__(self):
        return f"api-key:{self.api_key.prefix}"

    def linli_scope(self, codenames):
        """The key's jurisdiction (the same for every permission)."""
        if self._scope is None:
            self._scope = self._prefetched_scope()
        if self._scope is None:
            key = self.api_key
            self._scope = place_scope(key.place_type_id, key.place_id)
            self._store_scope(self._scope)
        return self._scope

    def _place(self) -> tuple[int, int]:
        return (self.api_key.place_type_id, self.api_key.place_id)

    def _prefetched_scope(self):
        if self._scope_found is None:
            return None
        version, entry, _name = self._scope_found
        if version is None or not (isinstance(entry, tuple) and len(entry) == 3):
            return None
        entry_version, place, stored = entry
        if entry_version != version or tuple(place) != self._place():
            return None
        return Scope.from_entry(stored)

    def _store_scope(self, scope) -> None:
        if self._scope_found is None:
            return
        version, _entry, name = self._scope_found
        if version is None:  # no version yet: the next request stores it
            return
        seconds = getattr(settings, "LINLI_SCOPE_CACHE_SECONDS", DEFAULT_SCOPE_SECONDS)
        entry = (version, self._place(), scope.as_entry())
        guard_for(CACHE_ALIAS).call(_WHAT, caches[CACHE_ALIAS].set, name, entry, timeout=seconds)

    def has_perm(self, perm, obj=None):
        return False

    def has_scope(self, scope: str) -> bool:
        return self.api_key.has_scope(scope)


def split_key(raw: str) -> str | None:
    """The prefix of a well-formed key ``linli_<prefix>_<secret>``, else None.

    The secret is URL-safe base64 and may itself contain underscores.
    """
    tag, _sep, rest = raw.partition("_")
    prefix, _sep, secret = rest.partition("_")
    if tag != KEY_TAG or not prefix or not secret:
        return None
    return prefix


# --- the key's row in the cache ------------------------------------------------------------

CACHE_ALIAS = "default"
DEFAULT_CACHE_SECONDS = 30
GENERATION_SECONDS = 24 * 3600  # a lost generation is drawn anew, which only drops the row
_WHAT = "API-key lookups"
# what a principal needs of the row; never the secret, nor its hash
_CACHED_FIELDS = (
    "id",
    "prefix",
    "name",
    "scopes",
    "place_type_id",
    "place_id",
    "expires_at",
    "revoked_at",
    "last_used_at",
)


def _digest(key_hash: str) -> str:
    return hashlib.sha256(f"linli-api-key-cache:{key_hash}".encode()).hexdigest()[:40]


def _cache_names(key_hash: str) -> tuple[str, str]:
    """(row, generation) cache keys of the key with this hash: names derived from it."""
    digest = _digest(key_hash)
    return f"apikey:{digest}", f"apikey:gen:{digest}"


def _scope_name(key_hash: str) -> str:
    """The cache key of the key's resolved jurisdiction, read with the row (its place is
    not known before the row is read); good while the places' version holds."""
    return f"apikey:scope:{_digest(key_hash)}"


def _last_used_name(key_hash: str) -> str:
    """The last-used marker's cache key: derived from the hash too, so that it is
    fetched with the row (the key's pk is not known before the row is read)."""
    return f"apikey:used:{_digest(key_hash)}"


def _set_generation(name: str) -> None:
    guard_for(CACHE_ALIAS).call(
        _WHAT, caches[CACHE_ALIAS].set, name, secrets.token_hex(8), timeout=GENERATION_SECONDS
    )


def forget_cached_key(api_key: ApiKey) -> None:
    """Make every cached copy of ``api_key`` stale: call after any write to the row.

    A new generation now and again on commit, so that a request that read the row before
    the commit does not keep it under the first one.
    """
    key_hash = api_key.key_hash or (
        ApiKey.objects.filter(pk=api_key.pk).values_list("key_hash", flat=True).first()
    )
    if not key_hash:
        return
    _row, generation = _cache_names(key_hash)
    _set_generation(generation)
    transaction.on_commit(lambda: _set_generation(generation))
    guard_for(CACHE_ALIAS).call(_WHAT, caches[CACHE_ALIAS].delete, _last_used_name(key_hash))


# what the one read of the cache found about a key: the marker is the time of the last
# write of last_used_at (None: absent, UNKNOWN: the cache was not read)
UNKNOWN = object()


def _from_cache(key_hash: str, prefix: str) -> tuple[ApiKey | None, str | None, object, tuple]:
    """(the cached key or None, the generation to store a fresh row under or None, the
    last-used marker, what the principal needs of its scope: the places' version, the
    key's scope entry and its name), in one round trip."""
    guard = guard_for(CACHE_ALIAS)
    cache = caches[CACHE_ALIAS]
    row_name, generation_name = _cache_names(key_hash)
    used_name = _last_used_name(key_hash)
    scope_name = _scope_name(key_hash)
    names = [row_name, generation_name, used_name, PLACES_VERSION_KEY, scope_name]
    found = guard.call(_WHAT, cache.get_many, names)
    if found is None:
        return None, None, UNKNOWN, None
    scope = (found.get(PLACES_VERSION_KEY), found.get(scope_name), scope_name)
    marker = found.get(used_name)
    generation = found.get(generation_name)
    if generation is None:
        token = secrets.token_hex(8)
        added = guard.call(_WHAT, cache.add, generation_name, token, timeout=GENERATION_SECONDS)
        generation = token if added else None  # a race or no cache: do not store
        return None, generation, marker, scope
    row = found.get(row_name)
    if isinstance(row, dict) and row.get("generation") == generation:
        fields = row.get("fields") or {}
        if fields.get("prefix") == prefix and set(fields) == set(_CACHED_FIELDS):
            key = ApiKey(**fields)
            key.key_hash = None  # not loaded: a save() of this instance fails loudly
            key._state.adding = False
            key._state.db = ApiKey.objects.db
            return key, generation, marker, scope
    return None, generation, marker, scope


def _to_cache(key: ApiKey, generation: str) -> None:
    row_name, _generation_name = _cache_names(key.key_hash)
    row = {
        "generation": generation,
        "fields": {name: getattr(key, name) for name in _CACHED_FIELDS},
    }
    seconds = getattr(settings, "LINLI_API_KEY_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)
    guard_for(CACHE_ALIAS).call(_WHAT, caches[CACHE_ALIAS].set, row_name, row, timeout=seconds)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _sep, raw = header.partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None
        raw = raw.strip()
        if not raw or " " in raw:
            raise exceptions.AuthenticationFailed(
                _("Malformed API key header."), code="invalid_api_key"
            )
        key, key_hash, marker, scope_found = self._lookup(raw)
        self._touch(key, key_hash, marker)
        return ApiKeyPrincipal(key, scope_found=scope_found), key

    def authenticate_header(self, request):
        return f'{KEYWORD} realm="api"'

    @staticmethod
    def _lookup(raw: str) -> tuple[ApiKey, str, object, tuple | None]:
        """(the key, its hash, its last-used marker as the cache holds it, what the
        cache holds of its scope)."""
        prefix = split_key(raw)
        if not prefix:
            raise exceptions.AuthenticationFailed(_("Invalid API key."), code="invalid_api_key")
        key_hash = hash_api_key(raw)
        key, generation, marker, scope_found = _from_cache(key_hash, prefix)
        if key is None:
            key = ApiKey.objects.filter(prefix=prefix).first()
            if key is None or not hmac.compare_digest(key.key_hash, key_hash):
                raise exceptions.AuthenticationFailed(_("Invalid API key."), code="invalid_api_key")
            if generation is not None:
                _to_cache(key, generation)
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                _("This API key has been revoked."), code="api_key_revoked"
            )
        if key.expires_at is not None and key.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                _("This API key has expired."), code="api_key_expired"
            )
        ContentType.objects.get_for_id(key.place_type_id)  # warm the cache
        return key, key_hash, marker, scope_found

    @staticmethod
    def _touch(key: ApiKey, key_hash: str, marker: object = UNKNOWN) -> None:
        """Record last use, at most once per LINLI_API_KEY_LAST_USED_RESOLUTION seconds.

        The row may come from the cache, whose ``last_used_at`` lags: a marker in the
        cache that lives for the resolution, holding the time of the write, says a write
        was made (by any process). ``marker`` is what :func:`_from_cache` found of it
        in the same read as the row, so a marker that is there costs no round trip;
        only an absent one is added (``add``: of two processes, one writes).
        """
        now = timezone.now()
        seconds = settings.LINLI_API_KEY_LAST_USED_RESOLUTION
        resolution = timedelta(seconds=seconds)
        if key.last_used_at is not None and now - key.last_used_at < resolution:
            return
        guard = guard_for(CACHE_ALIAS)
        cache = caches[CACHE_ALIAS]
        name = _last_used_name(key_hash)
        if isinstance(marker, datetime):
            if now - marker < resolution:
                return  # written within the resolution already
            # there, but older than the resolution says (clocks apart): replace it
            guard.call(_WHAT, cache.set, name, now, timeout=seconds)
        else:  # absent, or not read (no cache): the add decides who writes
            added = guard.call(_WHAT, cache.add, name, now, timeout=seconds)
            if added is False:  # another process wrote within the resolution
                return
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication (CSRF enforced), refused to staff without two-factor."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and two_factor_pending(result[0]):
            raise exceptions.PermissionDenied(
                _("Complete two-factor sign-in before using the API from this session."),
                code="two_factor_required",
            )
        return result
