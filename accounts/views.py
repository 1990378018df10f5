"""The account pages: sign-in (with the TOTP step), language, profile and two-factor.

Sign-in is two steps for an account with a confirmed TOTP device: the
password step (``LoginView``, through ``authenticate(request, ...)`` so that
django-axes sees every attempt) leaves only a pending marker in the session;
the code step (``login_code``) signs in and marks the session OTP-verified.
"""

import time
from urllib.parse import urlencode

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import activate, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.i18n import set_language
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.pages import account_page, public_page

from .forms import (
    PasswordConfirmForm,
    PhoneAuthenticationForm,
    ProfileForm,
    TokenForm,
    TotpEnrolForm,
    new_totp_key,
    totp_secret_for_humans,
)
from .models import User

# Session keys of the account pages.
PENDING_LOGIN = "linli_pending_login"  # password accepted, code still to come
ENROL_KEY = "linli_totp_enrol_key"  # TOTP secret shown but not yet confirmed
# How long the code step waits after the password step, and how many wrong codes it takes.
PENDING_LOGIN_SECONDS = 300
PENDING_LOGIN_MAX_FAILURES = 5

WRONG_CODE = gettext_lazy(
    "That code is not right, or it was already used. Wait for the next code and try again."
)

LANGUAGES = {code for code, _label in User.Language.choices}


# --- helpers --------------------------------------------------------------------------


def set_language_cookie(response, language: str):
    """Make ``language`` the one LocaleMiddleware picks for the next requests."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


def _safe_next(request, fallback: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def _finish_login(request, user, *, backend: str, redirect_to: str, device=None):
    """Sign ``user`` in, mark the session verified by ``device``, apply their language."""
    auth_login(request, user, backend=backend)
    if device is not None:
        django_otp.login(request, device)
    if user.language in LANGUAGES:
        activate(user.language)
    return set_language_cookie(redirect(redirect_to), user.language)


def _confirmed_devices(user):
    return list(django_otp.devices_for_user(user, confirmed=True))


def _match_token(user, token: str):
    """The user's confirmed device that accepts ``token``, or None (throttled per device)."""
    for device in _confirmed_devices(user):
        verified = django_otp.verify_token(user, device.persistent_id, token)
        if verified is not None:
            return verified
    return None


def _code_failed(request, user) -> None:
    """Count a wrong code like a wrong password, so django-axes locks the account too."""
    user_login_failed.send(
        sender=__name__,
        credentials={settings.AXES_USERNAME_FORM_FIELD: user.get_username()},
        request=request,
    )


# --- sign in --------------------------------------------------------------------------


@public_page
class LoginView(auth_views.LoginView):
    """Step one: mobile number and password."""

    form_class = PhoneAuthenticationForm
    template_name = "registration/login.html"

    def form_valid(self, form):
        user = form.get_user()
        redirect_to = self.get_success_url()
        if _confirmed_devices(user):
            self.request.session[PENDING_LOGIN] = {
                "user_id": user.pk,
                "backend": user.backend,
                "next": redirect_to,
                "started": int(time.time()),
                "failures": 0,
            }
            return redirect("login_code")
        return _finish_login(self.request, user, backend=user.backend, redirect_to=redirect_to)


def _pending_user(request):
    pending = request.session.get(PENDING_LOGIN)
    if not pending:
        return None, None
    if time.time() - pending.get("started", 0) > PENDING_LOGIN_SECONDS:
        del request.session[PENDING_LOGIN]
        return None, None
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is None:
        del request.session[PENDING_LOGIN]
    return pending, user


@public_page  # the password step is done; the session holds the pending sign-in
@sensitive_post_parameters("token")
@never_cache
def login_code(request):
    """Step two, for accounts with a confirmed TOTP device: the 6-digit code."""
    pending, user = _pending_user(request)
    if user is None:
        messages.info(request, _("Please sign in again."))
        return redirect(settings.LOGIN_URL)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _match_token(user, form.cleaned_data["token"])
        if device is not None:
            del request.session[PENDING_LOGIN]
            return _finish_login(
                request,
                user,
                backend=pending["backend"],
                redirect_to=pending["next"],
                device=device,
            )
        _code_failed(request, user)
        pending["failures"] = pending.get("failures", 0) + 1
        if pending["failures"] >= PENDING_LOGIN_MAX_FAILURES:
            del request.session[PENDING_LOGIN]
            messages.error(request, _("Too many wrong codes. Please sign in again."))
            return redirect(settings.LOGIN_URL)
        request.session[PENDING_LOGIN] = pending
        form.add_error("token", WRONG_CODE)
    return render(request, "registration/login_code.html", {"form": form})


# --- language and profile -------------------------------------------------------------


@public_page
@require_POST
def language(request):
    """Django's set_language, and for a signed-in user their saved preference too."""
    code = request.POST.get("language")
    if request.user.is_authenticated and code in LANGUAGES and request.user.language != code:
        request.user.language = code
        request.user.save(update_fields=["language"])
    return set_language(request)


@account_page
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        activate(user.language)
        messages.success(request, _("Your profile is saved."))
        return set_language_cookie(redirect("profile"), user.language)
    return render(request, "accounts/profile.html", {"form": form})


# --- two-factor -----------------------------------------------------------------------


def _require_staff(user):
    if not user.is_staff:
        raise PermissionDenied(_("Two-factor sign-in is for staff accounts."))


@sensitive_post_parameters("token", "password")
@never_cache
@account_page
def two_factor(request):
    """Enrol a TOTP authenticator app, or remove it (with the password)."""
    user = request.user
    _require_staff(user)
    devices = list(TOTPDevice.objects.devices_for_user(user, confirmed=True))
    if devices:
        return _two_factor_manage(request, devices)

    key = request.session.get(ENROL_KEY) or new_totp_key()
    request.session[ENROL_KEY] = key
    form = TotpEnrolForm(request.POST or None, user=user, key=key)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            device = form.save()
        del request.session[ENROL_KEY]
        django_otp.login(request, device)
        messages.success(request, _("Two-factor sign-in is on. You will be asked for a code."))
        return redirect(_safe_next(request, reverse("two_factor")))

    config_url = TOTPDevice(user=user, key=key).config_url
    qr = segno.make(config_url, error="m")
    return render(
        request,
        "accounts/two_factor_enrol.html",
        {
            "form": form,
            "qr_data_uri": qr.svg_data_uri(scale=5, border=2, dark="#000", light="#fff"),
            "secret": totp_secret_for_humans(key),
            "next": _safe_next(request, ""),
        },
    )


def _two_factor_manage(request, devices):
    user = request.user
    verified = user.is_verified()
    form = PasswordConfirmForm(request.POST or None, user=user)
    if request.method == "POST" and verified and form.is_valid():
        TOTPDevice.objects.filter(user=user).delete()
        request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
        messages.success(request, _("Two-factor sign-in is off."))
        return redirect("two_factor")
    return render(
        request,
        "accounts/two_factor_manage.html",
        {"form": form, "devices": devices, "verified": verified},
    )


@sensitive_post_parameters("token")
@never_cache
@account_page
def two_factor_verify(request):
    """Verify the session of a signed-in user who has a device (required for staff)."""
    user = request.user
    redirect_to = _safe_next(request, reverse("home"))
    if user.is_verified():
        return redirect(redirect_to)
    if not _confirmed_devices(user):
        return redirect(f"{reverse('two_factor')}?{urlencode({'next': redirect_to})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _match_token(user, form.cleaned_data["token"])
        if device is not None:
            django_otp.login(request, device)
            return redirect(redirect_to)
        _code_failed(request, user)
        form.add_error("token", WRONG_CODE)
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": redirect_to})
