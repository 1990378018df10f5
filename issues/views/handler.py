"""The handlers' pages of issue reporting, under /issues/handle/ (staff with
``buildings.handle_issues``: property staff, the committee, departments).

* ``handle/`` (inbox): the reports the user handles, the most urgent first, overdue rows
  marked; filters (status, category, level, overdue); "acknowledge selected".
* ``handle/<pk>/`` (handle): the report as on its public page plus the contact fields and
  internal notes, and a form for each move its status allows, posting to
  ``handle/<pk>/<move>/``. A move the status refuses shows the service's message with
  everything typed kept.
* ``handle/new/`` (staff_create): a report entered for a caller or from the hotline.

A report outside the user's scope is a 404; so is an unknown move.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buildings.models import Building, Estate, Neighbourhood
from buildings.permissions import HANDLE_ISSUES
from core.pages import staff_page

from .. import services
from ..forms import add_service_errors
from ..forms.report import StaffIssueForm
from ..forms.workflow import (
    AcknowledgeForm,
    CommitForm,
    InboxFilterForm,
    MergeForm,
    NoteForm,
    ProgressForm,
    RejectForm,
    ResolveForm,
)
from ..models import HandlerLevel, Move, Source
from ..selectors import access_issue, categories_active, inbox_for, issues_visible_to
from .resident import PAGE_SIZE, detail_context, report_with_form

DENIED = gettext_lazy("Handling reports is for property staff, the committee and departments.")

NOTE = "note"
#: move name in the URL -> (form, the status move it needs, or None for a note)
MOVES = {
    Move.ACKNOWLEDGE.value: (AcknowledgeForm, Move.ACKNOWLEDGE),
    Move.COMMIT.value: (CommitForm, Move.COMMIT),
    Move.PROGRESS.value: (ProgressForm, Move.PROGRESS),
    Move.RESOLVE.value: (ResolveForm, Move.RESOLVE),
    Move.REJECT.value: (RejectForm, Move.REJECT),
    Move.MERGE.value: (MergeForm, Move.MERGE),
    NOTE: (NoteForm, None),
}


def _do_move(move, issue, actor, data):
    """Call the move's service with the form's cleaned data."""
    if move == NOTE:
        return services.issue_comment(issue=issue, actor=actor, text=data["text"], internal=True)
    if move == Move.ACKNOWLEDGE:
        return services.issue_acknowledge(issue=issue, actor=actor, note=data["note"])
    if move == Move.COMMIT:
        return services.issue_commit(
            issue=issue, actor=actor, committed_due=data["committed_due"], note=data["note"]
        )
    if move == Move.PROGRESS:
        return services.issue_progress(
            issue=issue, actor=actor, text=data["text"], photos=data["photos"]
        )
    if move == Move.RESOLVE:
        return services.issue_resolve(
            issue=issue, actor=actor, note=data["note"], photos=data["photos"]
        )
    if move == Move.REJECT:
        return services.issue_reject(issue=issue, actor=actor, reason=data["reason"])
    if move == Move.MERGE:
        return services.issue_merge(
            issue=issue, actor=actor, into=data["into_issue"], reason=data["reason"]
        )
    raise Http404  # pragma: no cover - MOVES names every move


# --- the inbox ------------------------------------------------------------------------------


@staff_page(HANDLE_ISSUES, denied=DENIED)
@require_GET
def inbox(request):
    form = InboxFilterForm(
        request.GET or None, categories=categories_active(), levels=HandlerLevel.choices
    )
    data = form.cleaned_data if form.is_valid() else {}
    queryset = inbox_for(
        user=request.user,
        status=data.get("status") or None,
        category=data.get("category") or None,
        level_filter=data.get("level") or None,
        overdue=True if data.get("overdue") else None,
    )
    page_obj = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])
    return render(
        request,
        "issues/inbox.html",
        {"form": form, "page_obj": page_obj, "query": query, "now": timezone.now()},
    )


@staff_page(HANDLE_ISSUES, denied=DENIED)
@require_POST
def bulk_acknowledge(request):
    ids = [int(v) for v in request.POST.getlist("issues") if v.isdigit()][: PAGE_SIZE * 5]
    if not ids:
        messages.warning(request, _("Tick the reports to acknowledge first."))
    else:
        count = services.issue_bulk_acknowledge(issue_ids=ids, actor=request.user)
        messages.success(
            request,
            ngettext("%(count)d report acknowledged.", "%(count)d reports acknowledged.", count)
            % {"count": count},
        )
    target = request.POST.get("next", "")
    url = reverse("issues:inbox")
    return redirect(url + target if target.startswith("?") else url)


# --- one report -----------------------------------------------------------------------------


def _handle_context(request, issue):
    context = detail_context(request, issue, staff=True)
    forms = {}
    for name, (form_class, needs) in MOVES.items():
        if needs is None or issue.allowed(needs):
            forms[name] = form_class(prefix=name)
    context["move_forms"] = forms
    return context


@staff_page(HANDLE_ISSUES)
@require_GET
def handle(request, pk):
    issue = access_issue(user=request.user, pk=pk)
    return render(request, "issues/handle.html", _handle_context(request, issue))


@staff_page(HANDLE_ISSUES)
@require_POST
def move(request, pk, move):
    if move not in MOVES:
        raise Http404
    issue = access_issue(user=request.user, pk=pk)
    form_class, _move = MOVES[move]
    form = form_class(request.POST, request.FILES, prefix=move)
    if form.is_valid():
        data = dict(form.cleaned_data)
        if move == Move.MERGE:
            target = issues_visible_to(user=request.user).filter(pk=data["into"]).first()
            if target is None:
                form.add_error("into", _("No report with this number in your area."))
            data["into_issue"] = target
        if not form.errors:
            try:
                _do_move(move, issue, request.user, data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("You may not do this."))
            else:
                messages.success(request, _("Done."))
                return redirect("issues:handle", pk=issue.pk)
    # the form comes back bound (shown even when the status no longer allows the move)
    context = _handle_context(request, issue)
    context["move_forms"][move] = form
    return render(request, "issues/handle.html", context, status=400)


# --- reporting for a caller ------------------------------------------------------------------


def _scope_places(scope):
    if scope.everything:
        return Estate.objects.all(), Building.objects.all(), Neighbourhood.objects.all()
    nbh = sorted(scope.neighbourhood_ids)
    estates = sorted(scope.estate_ids)
    estate_q = Q(neighbourhood_id__in=nbh) | Q(pk__in=estates)
    building_q = (
        Q(estate__neighbourhood_id__in=nbh)
        | Q(estate_id__in=estates)
        | Q(pk__in=sorted(scope.building_ids))
    )
    return (
        Estate.objects.filter(estate_q),
        Building.objects.filter(building_q),
        Neighbourhood.objects.filter(pk__in=nbh),
    )


@staff_page(HANDLE_ISSUES, denied=DENIED)
@require_http_methods(["GET", "POST"])
def staff_create(request):
    estates, buildings, neighbourhoods = _scope_places(request.scope)
    form = StaffIssueForm(
        request.POST or None,
        request.FILES or None,
        user=request.user,
        estates=estates,
        buildings=buildings,
        neighbourhoods=list(neighbourhoods.order_by("name")),
    )
    if request.method == "POST":
        valid = form.is_valid()
        data = form.cleaned_data if valid else {}
        issue = report_with_form(
            request,
            form,
            source=data.get("source") or Source.STAFF,
            entered_by=request.user,
            neighbourhood=data.get("neighbourhood"),
            contact_name=data.get("contact_name", ""),
            contact_phone=data.get("contact_phone", ""),
        )
        if issue is not None:
            messages.success(request, _("Report #%(number)s entered.") % {"number": issue.pk})
            return redirect("issues:handle", pk=issue.pk)
    return render(
        request,
        "issues/form.html",
        {"form": form, "staff": True},
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("handle/", inbox, name="inbox"),
    path("handle/acknowledge/", bulk_acknowledge, name="bulk_acknowledge"),
    path("handle/new/", staff_create, name="staff_create"),
    path("handle/<int:pk>/", handle, name="handle"),
    path("handle/<int:pk>/<str:move>/", move, name="move"),
]
