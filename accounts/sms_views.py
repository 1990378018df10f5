"""The account pages that work with a code by text message (``accounts.sms_codes``).

Each flow is a phone step, a code step and, for sign-up and reset, a last step:

* sign-up: ``signup/`` -> ``signup/code/`` -> ``signup/details/`` (name and password);
  the new account is signed in and sent to the household-code verification.
* sign-in: ``login/sms/`` -> ``login/sms/code/`` (then the TOTP step for an account
  that has a device, as with a password).
* password reset: ``password/reset/sms/`` -> ``.../code/`` -> ``.../new/``.

The phone step answers the same whether the number has an account or not; the flow's
state (the number, and once the code matched, when) is kept in the session.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from axes.utils import reset as axes_reset
from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from core.net import client_ip
from core.pages import public_page

from .forms import SignUpForm, SmsCodeForm, SmsPhoneForm
from .models import SmsCode, User
from .services import user_password_set, user_sign_up
from .sms_codes import SmsCodeNotSent, SmsCodeThrottled, request_code, verify_code
from .views import PENDING_LOGIN, _confirmed_devices, _finish_login, _safe_next

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# How long after the code matched the last step (name and password) may be done.
VERIFIED_SECONDS = 600

WRONG_SMS_CODE = gettext_lazy(
    "That code is not right or no longer valid. Check the text message, or ask for a new code."
)

SIGNUP, SIGNIN, RESET = SmsCode.Purpose.SIGNUP, SmsCode.Purpose.SIGNIN, SmsCode.Purpose.RESET

# url names of each flow's steps
PHONE_STEP = {SIGNUP: "signup", SIGNIN: "login_sms", RESET: "password_reset_sms"}
CODE_STEP = {SIGNUP: "signup_code", SIGNIN: "login_sms_code", RESET: "password_reset_sms_code"}


def _state_key(purpose: str) -> str:
    return f"linli_sms_{purpose}"


def _state(request, purpose: str) -> dict | None:
    return request.session.get(_state_key(purpose))


def _verified_state(request, purpose: str) -> dict | None:
    state = _state(request, purpose)
    if state and time.time() - state.get("verified", 0) <= VERIFIED_SECONDS:
        return state
    return None


def _masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def _phone_texts(purpose: str) -> dict:
    if purpose == SIGNUP:
        return {
            "title": _("Create an account"),
            "lead": _(
                "Sign up with your mainland mobile number. We send you a six-digit code "
                "by text message."
            ),
        }
    if purpose == SIGNIN:
        return {
            "title": _("Sign in with a text message code"),
            "lead": _("We send a six-digit code to the mobile number of your Linli account."),
        }
    return {
        "title": _("Reset your password"),
        "lead": _(
            "We send a six-digit code to the mobile number of your Linli account; "
            "then you choose a new password."
        ),
    }


def _phone_step(request, purpose: str):
    state = _state(request, purpose) or {}
    form = SmsPhoneForm(request.POST or None, initial={"phone": state.get("phone", "")})
    status = 200
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            request_code(phone, purpose, client_ip(request))
        except SmsCodeThrottled as exc:
            when = date_format(timezone.localtime(exc.retry_at), "H:i")
            form.add_error(
                None,
                _("Too many codes were asked for. Please try again after %(time)s.")
                % {"time": when},
            )
            status = 429
        except SmsCodeNotSent:
            form.add_error(
                None, _("The text message could not be sent. Please try again in a minute.")
            )
            status = 503
        else:
            request.session[_state_key(purpose)] = {
                "phone": phone,
                "verified": 0,
                "next": _safe_next(request, ""),
            }
            messages.info(
                request,
                _("A text message is on its way to %(phone)s.") % {"phone": _masked(phone)},
            )
            return redirect(CODE_STEP[purpose])
    elif request.method == "POST":
        status = 400
    context = {
        "form": form,
        "purpose": purpose,
        "next": _safe_next(request, ""),
        **_phone_texts(purpose),
    }
    return render(request, "accounts/sms_phone.html", context, status=status)


def _code_step(request, purpose: str, on_success):
    state = _state(request, purpose)
    if not state:
        return redirect(PHONE_STEP[purpose])
    form = SmsCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if verify_code(state["phone"], purpose, form.cleaned_data["code"]):
            return on_success(state)
        form.add_error("code", WRONG_SMS_CODE)
        status = 400
    elif request.method == "POST":
        status = 400
    context = {
        "form": form,
        "phone": state["phone"],
        "masked_phone": _masked(state["phone"]),
        "resend_url": reverse(PHONE_STEP[purpose]),
        "start_url": reverse(PHONE_STEP[purpose]),
        "next": state.get("next", ""),
        **_phone_texts(purpose),
    }
    return render(request, "accounts/sms_code.html", context, status=status)


def _mark_verified(request, purpose: str, state: dict, next_step: str):
    state = {**state, "verified": int(time.time())}
    request.session[_state_key(purpose)] = state
    return redirect(next_step)


# --- sign-up --------------------------------------------------------------------------


@public_page
@sensitive_post_parameters("phone")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request):
    """Sign-up, step 1: the mobile number."""
    return _phone_step(request, SIGNUP)


@public_page
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def signup_code(request):
    """Sign-up, step 2: the code from the text message."""
    return _code_step(
        request, SIGNUP, lambda state: _mark_verified(request, SIGNUP, state, "signup_details")
    )


@public_page
@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def signup_details(request):
    """Sign-up, step 3: name and password; the account is made and signed in."""
    state = _verified_state(request, SIGNUP)
    if state is None:
        messages.info(request, _("Please confirm your mobile number first."))
        return redirect("signup")
    form = SignUpForm(request.POST or None, phone=state["phone"])
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = user_sign_up(
                phone=state["phone"],
                name=form.cleaned_data["name"],
                password=form.cleaned_data["new_password1"],
                language=request.LANGUAGE_CODE,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            status = 400
        else:
            del request.session[_state_key(SIGNUP)]
            messages.success(
                request,
                _("Welcome to Linli. Now verify your account with your household's code."),
            )
            response = _finish_login(
                request,
                user,
                backend=MODEL_BACKEND,
                redirect_to=f"{reverse('me:verify')}?{urlencode({'next': reverse('home')})}",
            )
            return response
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "accounts/signup_details.html",
        {"form": form, "masked_phone": _masked(state["phone"])},
        status=status,
    )


# --- sign-in ---------------------------------------------------------------------------


def _sign_in(request, state: dict):
    del request.session[_state_key(SIGNIN)]
    user = User.objects.filter(phone=state["phone"], is_active=True).first()
    if user is None:  # the account was closed meanwhile
        messages.error(request, _("Please sign in again."))
        return redirect("login")
    redirect_to = state.get("next") or reverse("home")
    if _confirmed_devices(user):
        # A code by text message replaces the password, never the second factor.
        request.session[PENDING_LOGIN] = {
            "user_id": user.pk,
            "backend": MODEL_BACKEND,
            "next": redirect_to,
            "started": int(time.time()),
            "failures": 0,
        }
        return redirect("login_code")
    return _finish_login(request, user, backend=MODEL_BACKEND, redirect_to=redirect_to)


@public_page
@sensitive_post_parameters("phone")
@never_cache
@require_http_methods(["GET", "POST"])
def login_sms(request):
    """Sign-in by text message, step 1: the mobile number."""
    return _phone_step(request, SIGNIN)


@public_page
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_sms_code(request):
    """Sign-in by text message, step 2: the code; signed in (or on to the TOTP step)."""
    return _code_step(request, SIGNIN, lambda state: _sign_in(request, state))


# --- password reset ----------------------------------------------------------------------


@public_page
@sensitive_post_parameters("phone")
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_sms(request):
    """Password reset by text message, step 1: the mobile number."""
    return _phone_step(request, RESET)


@public_page
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_sms_code(request):
    """Password reset by text message, step 2: the code."""
    return _code_step(
        request,
        RESET,
        lambda state: _mark_verified(request, RESET, state, "password_reset_sms_new"),
    )


@public_page
@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_sms_new(request):
    """Password reset by text message, step 3: the new password."""
    state = _verified_state(request, RESET)
    user = None
    if state is not None:
        user = User.objects.filter(phone=state["phone"], is_active=True).first()
    if user is None:
        messages.info(request, _("Please confirm your mobile number first."))
        return redirect("password_reset_sms")
    form = SetPasswordForm(user, request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        user_password_set(user=user, password=form.cleaned_data["new_password1"])
        del request.session[_state_key(RESET)]
        axes_reset(username=user.phone)  # a lockout from wrong passwords ends too
        messages.success(request, _("Your password is changed. Sign in with the new password."))
        return redirect("login")
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "accounts/sms_password_new.html",
        {"form": form, "masked_phone": _masked(user.phone)},
        status=status,
    )
