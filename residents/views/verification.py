"""实名认证 pages.

For cadres, under /registry/ (namespace "registry"), scoped: another
neighbourhood's household or resident is a 404.

* ``households/<id>/code/``: the household's members and their verification,
  its codes; POST issues a new code and shows the printable slip - the only
  time the code is ever shown.
* ``households/<id>/code/revoke/`` (POST): revoke the unused code.
* ``residents/<id>/unverify/`` (POST): unlink the resident's account.

For residents: ``/me/verify/`` (namespace "me"): the code, the name and the last
4 characters of the ID number. Rate limited; one message for any mismatch.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from buildings.permissions import MANAGE
from core.audit import client_ip
from core.pages import resident_page, staff_page

from ..forms.verification import AnonymiseForm, VerifyForm
from ..models import HouseholdCode
from ..selectors import access_household, access_resident
from ..services import (
    household_code_issue,
    household_code_revoke,
    resident_anonymise,
    verification_attempt,
    verification_revoke,
)
from ..services.verification import (
    VerificationFailed,
    VerificationRateLimited,
    code_days,
    household_codes_usable,
)

CODES_SHOWN = 10


def _household_context(household):
    members = list(
        household.members.filter(moved_out__isnull=True, anonymised_at__isnull=True).order_by("pk")
    )
    codes = list(
        HouseholdCode.objects.filter(household=household)
        .select_related("issued_by", "used_by")
        .order_by("-issued_at", "-pk")[:CODES_SHOWN]
    )
    now = timezone.now()
    return {
        "household": household,
        "members": members,
        "codes": codes,
        "usable": next((c for c in codes if c.is_usable), None),
        "now": now,
        "code_days": code_days(),
    }


@never_cache
@staff_page(MANAGE)
@require_http_methods(["GET", "POST"])
def household_code(request, pk):
    """GET: the household's verification; POST: issue a code and show its slip once."""
    household = access_household(user=request.user, pk=pk)
    if request.method == "POST":
        try:
            issued = household_code_issue(household=household, by=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("registry:household_code", pk=household.pk)
        return render(
            request,
            "residents/code_slip.html",
            {
                "household": household,
                "neighbourhood": household.neighbourhood,
                "issued": issued,
                "verify_url": request.build_absolute_uri(reverse("me:verify")),
            },
        )
    return render(request, "residents/verify_household.html", _household_context(household))


@staff_page(MANAGE)
@require_POST
def household_code_revoke_view(request, pk):
    household = access_household(user=request.user, pk=pk)
    revoked = 0
    for code in household_codes_usable(household).order_by("pk"):
        household_code_revoke(code=code, by=request.user)
        revoked += 1
    if revoked:
        messages.success(request, _("The code is revoked; it can no longer be used."))
    else:
        messages.info(request, _("This household has no usable code."))
    return redirect("registry:household_code", pk=household.pk)


@staff_page(MANAGE)
@require_POST
def verification_revoke_view(request, pk):
    resident = access_resident(user=request.user, pk=pk)
    try:
        verification_revoke(resident=resident, by=request.user, ip=client_ip(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(name)s's account is no longer verified.") % {"name": resident.name},
        )
    return redirect("registry:household_code", pk=resident.household_id)


# --- the resident's side ------------------------------------------------------------------


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("me:home")


@sensitive_post_parameters("code", "id_last4")
@never_cache
@resident_page
@require_http_methods(["GET", "POST"])
def verify(request):
    """A signed-in resident links their account to their registry record."""
    user = request.user
    next_url = _next_url(request)
    if user.verified:
        return render(request, "residents/verify_done.html", {"next": next_url})
    form = VerifyForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            resident = verification_attempt(
                user=user,
                code=data["code"],
                name=data["name"],
                id_last4=data["id_last4"],
                ip=client_ip(request),
            )
        except VerificationRateLimited as exc:
            when = date_format(timezone.localtime(exc.retry_at), "Y-m-d H:i")
            form.add_error(
                None,
                _("Too many tries. For your safety, try again after %(time)s.") % {"time": when},
            )
            status = 429
        except VerificationFailed as exc:
            form.add_error(None, exc.messages)
            status = 400
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            status = 400
        else:
            messages.success(
                request,
                _("Thank you, %(name)s: your account is verified.") % {"name": resident.name},
            )
            return redirect(next_url)
    elif request.method == "POST":
        status = 400
    return render(request, "residents/verify.html", {"form": form, "next": next_url}, status=status)


# --- the cadre's anonymise action ---------------------------------------------------------------


@never_cache
@staff_page(MANAGE)
@require_http_methods(["GET", "POST"])
def resident_anonymise_view(request, pk):
    resident = access_resident(user=request.user, pk=pk)
    form = AnonymiseForm(request.POST if request.method == "POST" else None)
    if resident.anonymised_at is None and request.method == "POST" and form.is_valid():
        resident_anonymise(resident=resident, by=request.user, ip=client_ip(request))
        messages.success(
            request,
            _("The resident's personal data is removed; the statistics are kept."),
        )
        return redirect("registry:resident_anonymise", pk=resident.pk)
    return render(
        request,
        "residents/me_data_anonymise.html",
        {"resident": resident, "form": form},
        status=400 if form.errors else 200,
    )
