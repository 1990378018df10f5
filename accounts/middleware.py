"""Two-factor sign-in for staff (django-otp).

``StaffTwoFactorMiddleware`` sits after django-otp's ``OTPMiddleware`` (which
gives ``request.user.is_verified()``). It does two things:

* The admin's own login form would sign people in without the second step, so
  /admin/login/ sends them to the account login page (phone normalisation,
  lockout, TOTP code), which comes back to the admin afterwards.
* When ``settings.LINLI_STAFF_2FA_REQUIRED`` is on, a staff user or superuser whose
  session is not OTP-verified (``core.api.authentication.two_factor_pending``) is sent
  to enrol a device (if they have none) or to enter a code (if they have one) before
  any page opens - except the account pages themselves, the language switch, static
  and media files and the health probes. /api/ is not redirected: it applies the same
  rule itself (``core.api.authentication.SessionAuthentication`` answers 403 in the
  API's error shape), and API keys are not sessions.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse
from django_otp import user_has_device

from core.api.authentication import two_factor_pending


def _prefix(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


class StaffTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._exempt = None

    def exempt_prefixes(self) -> tuple[str, ...]:
        if self._exempt is None:
            self._exempt = tuple(
                p
                for p in (
                    "/accounts/",
                    "/i18n/",
                    settings.STATIC_URL,
                    settings.MEDIA_URL,
                    _prefix("healthz", "/healthz"),
                    _prefix("readyz", "/readyz"),
                    # JSON clients are answered 403 by the API's session authentication
                    "/api/",
                    "/favicon.ico",
                )
                if p
            )
        return self._exempt

    def __call__(self, request):
        response = self._admin_login(request) or self._require_two_factor(request)
        return response or self.get_response(request)

    def _admin_login(self, request):
        try:
            admin_login = reverse("admin:login")
        except NoReverseMatch:
            return None
        if request.path != admin_login:
            return None
        target = request.GET.get("next") or _prefix("admin:index", "/admin/")
        return HttpResponseRedirect(
            f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': target})}"
        )

    def _require_two_factor(self, request):
        if not getattr(settings, "LINLI_STAFF_2FA_REQUIRED", False):
            return None
        if request.path.startswith(self.exempt_prefixes()):
            return None
        user = getattr(request, "user", None)
        if not two_factor_pending(user):
            return None
        view = "two_factor_verify" if user_has_device(user, confirmed=True) else "two_factor"
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse(view)}?{query}")
