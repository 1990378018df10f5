"""Who may act as a resident: only real-name verified accounts (实名认证) post, vote, upvote.

Later features guard their views with these:

* ``@require_verified`` on a function view; ``VerifiedRequiredMixin`` on a class view.
  A visitor who is not signed in goes to the sign-in page; a signed-in account
  that is not verified is sent to ``/me/verify/`` (GET) or refused with a 403
  (POST and other writes: an upvote must not silently turn into a redirect).
* ``IsVerifiedResident`` for DRF views (combine it with the default ``HasScope``);
  API keys are systems, not residents, and never pass it.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

NOT_VERIFIED = _(
    "Only verified residents can do this. Verify your account with the code from your "
    "residents' committee."
)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# A model permission (not a place grant): seeing full ID and phone numbers is given to a
# few named people, and every showing is audited (services and exports record it).
VIEW_FULL_IDENTITY = "residents.view_full_identity"
FULL_IDENTITY_REFUSED = _("You may not see full ID and phone numbers.")


def may_see_full_identity(user) -> bool:
    """The one rule for full identifiers: an active account holding the permission."""
    return bool(
        user is not None and getattr(user, "is_active", False) and user.has_perm(VIEW_FULL_IDENTITY)
    )


def require_full_identity(user) -> None:
    """Raise PermissionDenied (a 403) unless ``user`` may see full identifiers."""
    if not may_see_full_identity(user):
        raise PermissionDenied(FULL_IDENTITY_REFUSED)


def is_verified_resident(user) -> bool:
    """A signed-in, active account linked to its registry record (``User.verified``).

    Not ``user.is_verified()``: that is django-otp's two-factor check.
    """
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "verified", False)
    )


def _refuse(request):
    """The answer to a signed-in account that is not verified."""
    if request.method in SAFE_METHODS:
        messages.info(request, NOT_VERIFIED)
        return redirect(f"{reverse('me:verify')}?{urlencode({'next': request.get_full_path()})}")
    raise PermissionDenied(NOT_VERIFIED)


def require_verified(view_func):
    """View decorator: only verified residents get through (see module doc)."""

    @wraps(view_func)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_verified_resident(user):
            return _refuse(request)
        return view_func(request, *args, **kwargs)

    return wrapper


class VerifiedRequiredMixin(AccessMixin):
    """Class-based views: like ``require_verified``."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not is_verified_resident(request.user):
            return _refuse(request)
        return super().dispatch(request, *args, **kwargs)


class IsVerifiedResident(BasePermission):
    """DRF: the request comes from a verified resident's session (not an API key)."""

    message = NOT_VERIFIED

    def has_permission(self, request, view):
        return is_verified_resident(request.user)
