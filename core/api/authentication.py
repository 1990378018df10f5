"""How the API knows who calls: an API key, or a browser session with two-factor done.

`Authorization: Api-Key <key>` is for district systems. A key authenticates as an
:class:`ApiKeyPrincipal`: not a User, but something ``core.scoping.scope_for``
understands - its scope is the key's jurisdiction. Failures are 401s whose ``code``
says why (unknown, revoked, expired key).

A browser session (:class:`SessionAuthentication`, DRF's with CSRF on writes) opens the
API to staff only once the session is OTP-verified when ``LINLI_STAFF_2FA_REQUIRED`` is
on, the same rule as the pages (:func:`two_factor_pending`, which
``accounts.middleware`` applies to them): otherwise a 403 asking to finish two-factor
sign-in.
"""

import hmac
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from core.models import ApiKey, hash_api_key
from core.scoping import scope_from_grants

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

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self._scope = None

    def __str__(self):
        return f"api-key:{self.api_key.prefix}"

    def linli_scope(self, codenames):
        """The key's jurisdiction (the same for every permission)."""
        if self._scope is None:
            self._scope = scope_from_grants([(self.api_key.place_type_id, self.api_key.place_id)])
        return self._scope

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
        key = self._lookup(raw)
        self._touch(key)
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request):
        return f'{KEYWORD} realm="api"'

    @staticmethod
    def _lookup(raw: str) -> ApiKey:
        prefix = split_key(raw)
        key = ApiKey.objects.filter(prefix=prefix).first() if prefix else None
        if key is None or not hmac.compare_digest(key.key_hash, hash_api_key(raw)):
            raise exceptions.AuthenticationFailed(_("Invalid API key."), code="invalid_api_key")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                _("This API key has been revoked."), code="api_key_revoked"
            )
        if key.expires_at is not None and key.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                _("This API key has expired."), code="api_key_expired"
            )
        ContentType.objects.get_for_id(key.place_type_id)  # warm the cache
        return key

    @staticmethod
    def _touch(key: ApiKey) -> None:
        """Record last use, at most once per LINLI_API_KEY_LAST_USED_RESOLUTION seconds."""
        now = timezone.now()
        resolution = timedelta(seconds=settings.LINLI_API_KEY_LAST_USED_RESOLUTION)
        if key.last_used_at is None or now - key.last_used_at >= resolution:
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
