"""外来人员信息申报 pages.

* ``/visit/<token>/``: the public form a visitor opens through the household's
  link, no account needed; ``/visit/<token>/done/`` thanks them.
* ``/me/visitors/new/``: the same form for a verified resident of the household;
  ``/me/visitors/link/`` (POST) replaces the household's link.
* ``/registry/visitors/`` (namespace "registry"): the cadre's scoped list with
  filters (status, when, estate) and confirm / reject (POST, audited);
  another neighbourhood's declaration is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buildings.models import Estate
from buildings.permissions import MANAGE
from core.audit import client_ip
from core.pages import public_page, resident_page, staff_page

from ..forms import add_service_errors
from ..forms.visitors import VisitorForm, VisitorReviewForm
from ..models import VisitorDeclaration
from ..permissions import require_verified
from ..selectors.visitors import (
    ANY,
    CURRENT,
    PAST,
    UPCOMING,
    access_visitor_declaration,
    purge_days,
    visitor_declarations_visible_to,
)
from ..services import visitor_declaration_review, visitor_declare, visitor_link_rotate
from ..services.visitors import VisitorRateLimited, household_for_visitor_token

PAGE_SIZE = 50
WHEN_CHOICES = [
    (CURRENT, gettext_lazy("Staying now")),
    (UPCOMING, gettext_lazy("Coming")),
    (PAST, gettext_lazy("Left")),
    (ANY, gettext_lazy("Any time")),
]


def _declare(request, form, household, *, by=None, public=False):
    """Validate ``form`` and store the declaration; None when there are errors.

    Through the public link the service counts the client's posts and the household's
    declarations; past either budget it raises ``VisitorRateLimited`` (the caller's 429).
    """
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return visitor_declare(
            household=household, by=by, public=public, ip=client_ip(request), **data
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


# --- the public form ------------------------------------------------------------------------


def _household_or_404(token):
    household = household_for_visitor_token(token)
    if household is None:
        raise Http404(_("This link is not valid any more. Ask the household for a new one."))
    return household


@public_page
@never_cache
@require_http_methods(["GET", "POST"])
def visit(request, token):
    household = _household_or_404(token)
    form = VisitorForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        by = request.user if request.user.is_authenticated else None
        try:
            if _declare(request, form, household, by=by, public=True) is not None:
                return redirect("visit_done", token=token)
        except VisitorRateLimited:
            form.add_error(
                None,
                _(
                    "Many declarations were sent through this link in the last hour. "
                    "Please try again later, or ask the household to declare you."
                ),
            )
            status = 429
        else:
            status = 400 if form.errors else 200
    return render(
        request,
        "residents/visitor_form.html",
        {"form": form, "household": household, "public": True, "purge_days": purge_days()},
        status=status,
    )


@public_page
@require_GET
def visit_done(request, token):
    household = _household_or_404(token)
    return render(request, "residents/visitor_done.html", {"household": household, "token": token})


# --- the resident's side ------------------------------------------------------------------


def _my_household(user):
    resident = getattr(user, "resident", None)
    household = resident.household if resident is not None else None
    if household is None or household.moved_out is not None:
        raise PermissionDenied(_("Your account is not linked to a current household."))
    return household


@never_cache
@resident_page
@require_verified
@require_http_methods(["GET", "POST"])
def my_visitor_new(request):
    household = _my_household(request.user)
    form = VisitorForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and _declare(request, form, household, by=request.user):
        messages.success(request, _("Thank you: the visitor is declared."))
        return redirect("me:home")
    return render(
        request,
        "residents/visitor_form.html",
        {"form": form, "household": household, "public": False, "purge_days": purge_days()},
        status=400 if form.errors else 200,
    )


@resident_page
@require_verified
@require_POST
def my_visitor_link_rotate(request):
    household = _my_household(request.user)
    visitor_link_rotate(household=household, by=request.user)
    messages.success(
        request, _("Your household has a new visitor link; the old one stopped working.")
    )
    return redirect(f"{reverse('me:home')}#visitor-link")


# --- the cadre's list -------------------------------------------------------------------------


DENIED = gettext_lazy("Visitor declarations are for the residents' committee.")


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@staff_page(MANAGE, denied=DENIED)
@require_GET
def visitor_list(request):
    scope = request.scope
    status = request.GET.get("status") or ""
    if status not in VisitorDeclaration.Status.values:
        status = ""
    when = request.GET.get("when") or ANY
    if when not in dict(WHEN_CHOICES):
        when = ANY
    estates = list(scope.filter(Estate.objects.all()).order_by("name").values_list("pk", "name"))
    estate_id = _int_or_none(request.GET.get("estate"))
    if estate_id not in {pk for pk, _name in estates}:
        estate_id = None
    declarations = visitor_declarations_visible_to(
        user=request.user, status=status or None, when=when, estate_id=estate_id
    )
    page_obj = Paginator(declarations, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode(
        {k: v for k, v in {"status": status, "when": when, "estate": estate_id or ""}.items() if v}
    )
    return render(
        request,
        "residents/visitor_list.html",
        {
            "page_obj": page_obj,
            "status": status,
            "statuses": VisitorDeclaration.Status.choices,
            "when": when,
            "when_choices": WHEN_CHOICES,
            "estates": estates,
            "estate_id": estate_id,
            "query": query,
            "today": timezone.localdate(),
            "Status": VisitorDeclaration.Status,
        },
    )


@staff_page(MANAGE, denied=DENIED)
@require_POST
def visitor_review(request, pk):
    declaration = access_visitor_declaration(user=request.user, pk=pk)
    form = VisitorReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to confirm or to reject."))
    else:
        try:
            visitor_declaration_review(
                declaration=declaration,
                by=request.user,
                status=form.cleaned_data["status"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            if form.cleaned_data["status"] == VisitorDeclaration.Status.CONFIRMED:
                messages.success(request, _("Declaration confirmed."))
            else:
                messages.success(request, _("Declaration rejected."))
    back = request.POST.get("back") or ""
    if not back.startswith(reverse("registry:visitors")):
        back = reverse("registry:visitors")
    return redirect(back)
