"""The residents' pages of issue reporting (报事), under /issues/.

* ``""`` (list): the public reports of the verified resident's neighbourhood, with GET
  filters, sorts and pages; a user who is not verified is told how to get there.
* ``new/`` (create): report a matter; ``similar/``: the open reports like it, as an HTML
  fragment, for "me too" before submitting.
* ``mine/``: the user's own reports, in any neighbourhood.
* ``<pk>/`` (detail) and its POSTs: upvote (我也遇到) and follow toggles (JSON for a
  fetch, a redirect for a plain form), comment, and the reporter's confirm-and-rate and
  reopen.

A report outside the user's reach is a 404 (``access_public_issue``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buildings.models import Building, Estate
from core.pages import resident_page
from residents.selectors.me import my_resident

from .. import services
from ..forms import add_service_errors
from ..forms.report import IssueForm, neighbourhood_places
from ..forms.workflow import CommentForm, ConfirmForm, ListFilterForm, ReopenForm
from ..models import Category, Follow, IssuePhoto, Move, Source, Status, Upvote
from ..permissions import may_handle, may_upvote, resident_place
from ..selectors import (
    access_public_issue,
    issues_reported_by,
    similar_open_issues,
    timeline_for,
)
from ..selectors.reports import page_cursor, parse_cursor, public_issue_page
from .photos import stored_photo_response

PAGE_SIZE = 20


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# --- the neighbourhood's reports ----------------------------------------------------------


@dataclass
class ListPage:
    """A keyset page of the residents' list: its rows and the cursor of the next one."""

    object_list: list
    next_cursor: str | None
    first: bool

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _list_choices(nbh: int, estate_value: str):
    """The filter's choices: the active categories and the neighbourhood's estates (a
    handful, names only), and the buildings of the chosen estate only."""
    categories = list(
        Category.objects.filter(active=True).only("id", "name_zh", "name_en", "position", "code")
    )
    estates = list(Estate.objects.filter(neighbourhood_id=nbh).only("id", "name").order_by("name"))
    buildings = []
    if estate_value.isdigit() and int(estate_value) in {e.pk for e in estates}:
        buildings = list(
            Building.objects.filter(estate_id=int(estate_value))
            .only("id", "number")
            .order_by("number")
        )
    return categories, estates, buildings


@resident_page
@require_GET
def issue_list(request):
    """The neighbourhood's reports, a page at a time on a cursor ("more" link): the cost
    is the page's rows, never the neighbourhood's size (no COUNT, no OFFSET)."""
    place = resident_place(request.user)
    if place is None:
        return render(request, "issues/not_verified.html", status=200)
    nbh, neighbourhood_name = place
    categories, estates, buildings = _list_choices(nbh, request.GET.get("estate", ""))
    form = ListFilterForm(
        request.GET or None, categories=categories, estates=estates, buildings=buildings
    )
    sort = form.order()
    cursor = request.GET.get("after") or None
    if cursor is not None and parse_cursor(cursor, sort) is None:
        cursor = None  # a bad or stale cursor: the first page
    rows = list(
        public_issue_page(
            neighbourhood_id=nbh, filters=form.filters(), sort=sort, cursor=cursor, size=PAGE_SIZE
        )
    )
    next_cursor = page_cursor(rows[PAGE_SIZE - 1], sort) if len(rows) > PAGE_SIZE else None
    rows = rows[:PAGE_SIZE]
    estate_names = {e.pk: e.name for e in estates}
    statuses = dict(Status.choices)
    now = timezone.now()
    for issue in rows:
        issue.status_label = statuses.get(issue.status, issue.status)
        issue.place_label = _place_label(issue, estate_names, neighbourhood_name)
        issue.age = timesince(issue.created_at, now)
    query = urlencode([(k, v) for k, v in request.GET.items() if k not in ("after", "page") and v])
    return render(
        request,
        "issues/list.html",
        {
            "form": form,
            "selects": list(form.choices()),
            "page_obj": ListPage(rows, next_cursor, first=cursor is None),
            "query": query,
            "neighbourhood_name": neighbourhood_name,
        },
    )


def _place_label(issue, estate_names, neighbourhood_name) -> str:
    """Where a report is, as ``issues/_place.html`` says it, from names already read."""
    estate = estate_names.get(issue.estate_id, "") if issue.estate_id else ""
    text = f"{estate} {issue.building.number}" if issue.building_id else estate
    if issue.address:
        text = f"{text} · {issue.address}" if issue.estate_id else issue.address
    return text or neighbourhood_name


@resident_page
@require_GET
def issue_mine(request):
    page_obj = Paginator(issues_reported_by(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "issues/mine.html", {"page_obj": page_obj})


# --- reporting ------------------------------------------------------------------------------


def report_with_form(request, form, *, source, **extra):
    """Validate ``form`` and report; the Issue, or None with the errors on the form.

    When the form comes back with an error, the photos that passed are kept (see
    ``issues.forms.report``)."""
    issue = None
    if form.is_valid():
        data = form.cleaned_data
        category = data["category"]
        field_map = form.attribute_field_map(category)
        try:
            attributes = services.clean_attributes(
                category=category, raw=form.raw_attributes(category)
            )
            issue = services.issue_create(
                category=category,
                description=data["description"],
                source=source,
                estate=data.get("estate"),
                building=data.get("building"),
                address=data.get("address", ""),
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                attributes=attributes,
                photos=form.photo_files(),
                **extra,
            )
        except ValidationError as exc:
            add_service_errors(form, exc, field_map=field_map)
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("You may not report here."))
        else:
            form.forget_kept()
            return issue
    form.stash_photos()
    return None


@resident_page
@require_http_methods(["GET", "POST"])
def issue_create(request):
    resident = my_resident(request.user)
    if resident is None:
        return render(request, "issues/not_verified.html")
    form = IssueForm(
        request.POST or None,
        request.FILES or None,
        user=request.user,
        **neighbourhood_places([resident.neighbourhood_id]),
        default_building=resident.building,
    )
    if request.method == "POST":
        reporter_public = form.is_valid() and form.cleaned_data.get("reporter_public", False)
        issue = report_with_form(
            request,
            form,
            source=Source.WEB,
            reporter=request.user,
            neighbourhood=resident.neighbourhood,
            reporter_public=bool(reporter_public),
        )
        if issue is not None:
            messages.success(
                request,
                _("Thank you. Report #%(number)s is with its handler.") % {"number": issue.pk},
            )
            return redirect("issues:detail", pk=issue.pk)
    return render(
        request,
        "issues/form.html",
        {"form": form, "staff": False},
        status=400 if form.errors else 200,
    )


@resident_page
@require_GET
def issue_similar(request):
    """The open reports like the one being written: an HTML fragment (the whole page
    without JS, through the "see similar reports" link)."""
    resident = my_resident(request.user)
    issues = []
    if resident is not None:
        try:
            category_id = int(request.GET.get("category", ""))
        except ValueError:
            category_id = None
        building_id = request.GET.get("building") or None
        estate_id = None
        if building_id:
            building = Building.objects.filter(
                pk=building_id if str(building_id).isdigit() else 0,
                estate__neighbourhood_id=resident.neighbourhood_id,
            ).first()
            building_id = building.pk if building else None
            estate_id = building.estate_id if building else None
        if category_id is not None:
            issues = similar_open_issues(
                category_id=category_id,
                neighbourhood_id=resident.neighbourhood_id,
                building_id=building_id,
                estate_id=estate_id,
            )
    upvoted = (
        set(
            Upvote.objects.filter(user=request.user, issue__in=issues).values_list(
                "issue_id", flat=True
            )
        )
        if issues
        else set()
    )
    partial = request.headers.get("X-Linli-Partial") == "similar"
    template = "issues/_similar.html" if partial else "issues/similar.html"
    return render(request, template, {"issues": issues, "upvoted": upvoted})


# --- one report -----------------------------------------------------------------------------


def detail_context(request, issue, *, staff=False):
    user = request.user
    photos = list(IssuePhoto.objects.filter(issue=issue, event__isnull=True).order_by("id"))
    is_reporter = issue.reporter_id is not None and issue.reporter_id == user.pk
    return {
        "issue": issue,
        "photos": photos,
        "attributes": _attribute_rows(issue),
        "timeline": _with_who(timeline_for(issue=issue, staff=staff), issue, staff),
        "staff": staff,
        "staff_link": not staff and may_handle(user, issue),
        "is_reporter": is_reporter,
        "can_vote": may_upvote(user, issue),
        "upvoted": Upvote.objects.filter(issue=issue, user=user).exists(),
        "following": Follow.objects.filter(issue=issue, user=user).exists(),
        "comment_form": CommentForm(),
        "confirm_form": ConfirmForm() if is_reporter and issue.allowed(Move.CONFIRM) else None,
        "reopen_form": ReopenForm() if is_reporter and issue.allowed(Move.REOPEN) else None,
    }


def _with_who(events, issue, staff):
    """Name who did each step; the reporter only when they chose a public name."""
    for event in events:
        hidden = (
            not staff
            and not issue.reporter_public
            and issue.reporter_id is not None
            and event.actor_id == issue.reporter_id
        )
        if hidden:
            event.who = _("a resident")
        elif event.actor_label:
            event.who = event.actor_label
        elif event.actor is not None:
            event.who = event.actor.get_short_name()
        else:
            event.who = _("the system")
    return events


def _attribute_rows(issue):
    if not issue.attributes:
        return []
    rows = []
    for attribute in issue.category.attributes.all():
        if attribute.code not in issue.attributes:
            continue
        value = issue.attributes[attribute.code]
        if isinstance(value, list):
            value = "、".join(attribute.value_name(str(v)) for v in value)
        elif attribute.values:
            value = attribute.value_name(str(value))
        rows.append((attribute.description, value))
    return rows


def _public_issue(request, pk):
    return access_public_issue(user=request.user, pk=pk)


@resident_page
@require_GET
def issue_detail(request, pk):
    issue = _public_issue(request, pk)
    if issue.status == Status.MERGED and issue.merged_into_id:
        return redirect("issues:detail", pk=issue.merged_into_id)
    return render(request, "issues/detail.html", detail_context(request, issue))


def _render_detail_error(request, issue, **forms):
    context = detail_context(request, issue)
    context.update(forms)
    return render(request, "issues/detail.html", context, status=400)


@resident_page
@require_POST
def issue_upvote(request, pk):
    issue = _public_issue(request, pk)
    if not may_upvote(request.user, issue):
        raise Http404
    try:
        upvoted, count = services.issue_upvote_toggle(issue=issue, user=request.user)
    except (ValidationError, PermissionDenied) as exc:
        if _wants_json(request):
            return JsonResponse({"error": " ".join(getattr(exc, "messages", []))}, status=400)
        messages.error(request, " ".join(getattr(exc, "messages", [])) or _("Not possible."))
        return redirect("issues:detail", pk=issue.pk)
    if _wants_json(request):
        return JsonResponse({"upvoted": upvoted, "count": count})
    if _safe_next(request):
        return redirect(request.POST["next"])
    return redirect("issues:detail", pk=issue.pk)


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


@resident_page
@require_POST
def issue_follow(request, pk):
    issue = _public_issue(request, pk)
    if not (may_upvote(request.user, issue) or issue.reporter_id == request.user.pk):
        raise Http404
    following = services.issue_follow_toggle(issue=issue, user=request.user)
    if _wants_json(request):
        return JsonResponse({"following": following})
    return redirect("issues:detail", pk=issue.pk)


@resident_page
@require_POST
def issue_comment(request, pk):
    issue = _public_issue(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.issue_comment(issue=issue, actor=request.user, text=form.cleaned_data["text"])
        except (ValidationError, PermissionDenied) as exc:
            _attach(form, exc)
        else:
            return redirect("issues:detail", pk=issue.pk)
    return _render_detail_error(request, issue, comment_form=form)


def _attach(form, exc):
    if isinstance(exc, ValidationError):
        add_service_errors(form, exc)
    else:
        form.add_error(None, str(exc) or _("You may not do this."))


def _reporter_issue(request, pk):
    issue = _public_issue(request, pk)
    if issue.reporter_id != request.user.pk:
        raise Http404
    return issue


@resident_page
@require_POST
def issue_confirm(request, pk):
    issue = _reporter_issue(request, pk)
    form = ConfirmForm(request.POST)
    if form.is_valid():
        try:
            services.issue_confirm(
                issue=issue,
                actor=request.user,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("Thank you for rating how it was handled."))
            return redirect("issues:detail", pk=issue.pk)
    return _render_detail_error(request, issue, confirm_form=form)


@resident_page
@require_POST
def issue_reopen(request, pk):
    issue = _reporter_issue(request, pk)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            services.issue_reopen(
                issue=issue, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except (ValidationError, PermissionDenied) as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("The report is open again; its handler has been told."))
            return redirect("issues:detail", pk=issue.pk)
    return _render_detail_error(request, issue, reopen_form=form)


@resident_page
@require_GET
def issue_photo(request, pk, photo_id, size):
    """A report's photo (``size`` "full" or "thumb") for whoever may see the report: the
    files are not public media; the same 404 for a missing and a forbidden one."""
    if size not in ("full", "thumb"):
        raise Http404
    issue = _public_issue(request, pk)
    photo = IssuePhoto.objects.filter(issue=issue, pk=photo_id).first()
    if photo is None:
        raise Http404
    name = photo.thumbnail.name if size == "thumb" else photo.image.name
    return stored_photo_response(name, cache="private, max-age=3600")


urlpatterns = [
    path("", issue_list, name="list"),
    path("new/", issue_create, name="create"),
    path("mine/", issue_mine, name="mine"),
    path("similar/", issue_similar, name="similar"),
    path("<int:pk>/", issue_detail, name="detail"),
    path("<int:pk>/upvote/", issue_upvote, name="upvote"),
    path("<int:pk>/follow/", issue_follow, name="follow"),
    path("<int:pk>/confirm/", issue_confirm, name="confirm"),
    path("<int:pk>/reopen/", issue_reopen, name="reopen"),
    path("<int:pk>/comment/", issue_comment, name="comment"),
    path("<int:pk>/photos/<int:photo_id>/<str:size>/", issue_photo, name="photo"),
]
