"""智慧报表 pages for cadres, under /registry/reports/.

The builder is a GET form, so a report's address can be shared and bookmarked;
the count and the first page of residents show under the form. With JavaScript
(static/js/reports.js) the results refresh as boxes are ticked: the same URL is
fetched with the ``X-Linli-Partial: report`` header and only the results are
rendered. Everything is within the viewer's scope (``buildings.manage_neighbourhood``);
another neighbourhood's saved report is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from buildings.models import Neighbourhood
from buildings.permissions import MANAGE
from core.audit import client_ip
from core.pages import staff_page

from ..forms.reports import (
    RenameReportForm,
    ReportConditionsForm,
    SaveReportForm,
    conditions_to_querydict,
)
from ..selectors.reports import (
    access_saved_report,
    describe_conditions,
    report_neighbourhood_choices,
    report_residents,
    saved_reports_visible_to,
)
from ..services import (
    saved_report_create,
    saved_report_delete,
    saved_report_rename,
    saved_report_run,
)
from ..services.reports import report_export_xlsx

PARTIAL_HEADER = "X-Linli-Partial"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50  # residents (or saved reports) per page


# the reports' scope (selectors.reports.report_scope); 403 for a user who manages no place
DENIED = gettext_lazy("Smart reports are for the residents' committee.")


def _page(request, queryset, count=None):
    paginator = Paginator(queryset, PAGE_SIZE)
    if count is not None:
        paginator.count = count  # already counted: do not count twice
    return paginator.get_page(request.GET.get("page"))


def _resident_page(request, queryset, count=None):
    """A page of residents, each with ``report_age`` (whole years today)."""
    page_obj = _page(request, queryset, count=count)
    today = timezone.localdate()
    page_obj.object_list = list(page_obj.object_list)
    for resident in page_obj.object_list:
        resident.report_age = resident.age(today)
    return page_obj


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _is_partial(request) -> bool:
    return request.headers.get(PARTIAL_HEADER) == "report"


def _render_builder(request, form, *, save_form=None, status=200):
    context = {"form": form, "query": _query_without_page(request)}
    if form.is_bound and not form.is_valid():
        context.update(page_obj=None, invalid=True)
    else:
        queryset = report_residents(user=request.user, conditions=form.get_conditions())
        context["page_obj"] = _resident_page(request, queryset)
    if save_form is None:
        save_form = SaveReportForm(neighbourhoods=report_neighbourhood_choices(user=request.user))
    context["save_form"] = save_form
    template = "residents/report_results.html" if _is_partial(request) else "residents/reports.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, [PARTIAL_HEADER])
    return response


@staff_page(MANAGE, denied=DENIED)
@require_GET
def report_builder(request):
    form = ReportConditionsForm(request.GET or None, user=request.user)
    return _render_builder(request, form)


@staff_page(MANAGE, denied=DENIED)
@require_POST
def report_save(request):
    """Save the conditions in the address (the builder's query string) by name."""
    form = ReportConditionsForm(request.GET, user=request.user)
    choices = report_neighbourhood_choices(user=request.user)
    save_form = SaveReportForm(request.POST, neighbourhoods=choices)
    if form.is_valid() and save_form.is_valid():
        neighbourhood = Neighbourhood.objects.get(pk=save_form.cleaned_data["neighbourhood"])
        try:
            report = saved_report_create(
                neighbourhood=neighbourhood,
                name=save_form.cleaned_data["name"],
                conditions=form.get_conditions(),
                by=request.user,
            )
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                save_form.add_error("name" if key == "name" else None, errors)
        else:
            messages.success(request, _("Report “%(name)s” saved.") % {"name": report.name})
            return redirect("registry:report_detail", pk=report.pk)
    return _render_builder(request, form, save_form=save_form, status=400)


@staff_page(MANAGE, denied=DENIED)
@require_GET
def report_export(request):
    """The builder's current results as an Excel file (masked)."""
    form = ReportConditionsForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return _render_builder(request, form, status=400)
    queryset = report_residents(user=request.user, conditions=form.get_conditions())
    return _xlsx_response(request, queryset, title=_("Smart report"))


@staff_page(MANAGE, denied=DENIED)
@require_GET
def saved_report_list(request):
    page_obj = _page(request, saved_reports_visible_to(user=request.user).order_by("name", "pk"))
    return render(request, "residents/report_list.html", {"page_obj": page_obj})


@staff_page(MANAGE, denied=DENIED)
@require_GET
def saved_report_detail(request, pk):
    """Run a saved report (the count and run time are recorded on it)."""
    report = access_saved_report(user=request.user, pk=pk)
    context = {"report": report, "rename_form": RenameReportForm(initial={"name": report.name})}
    try:
        conditions, queryset, count = saved_report_run(report=report, user=request.user)
    except ValidationError:
        context.update(invalid=True, page_obj=None)
    else:
        context.update(
            invalid=False,
            page_obj=_resident_page(request, queryset, count=count),
            description=describe_conditions(conditions, user=request.user),
            builder_query=conditions_to_querydict(conditions).urlencode(),
            query=_query_without_page(request),
        )
    return render(request, "residents/report_detail.html", context)


@staff_page(MANAGE, denied=DENIED)
@require_GET
def saved_report_export(request, pk):
    report = access_saved_report(user=request.user, pk=pk)
    try:
        _conditions, queryset, _count = saved_report_run(report=report, user=request.user)
    except ValidationError:
        messages.error(request, _("This report's conditions are not valid; it cannot run."))
        return redirect("registry:report_detail", pk=report.pk)
    return _xlsx_response(
        request, queryset, title=report.name, neighbourhood_id=report.neighbourhood_id
    )


@staff_page(MANAGE, denied=DENIED)
@require_POST
def saved_report_rename_view(request, pk):
    report = access_saved_report(user=request.user, pk=pk)
    form = RenameReportForm(request.POST)
    if form.is_valid():
        try:
            saved_report_rename(report=report, name=form.cleaned_data["name"], by=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Report renamed."))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("registry:report_detail", pk=report.pk)


@staff_page(MANAGE, denied=DENIED)
@require_POST
def saved_report_delete_view(request, pk):
    report = access_saved_report(user=request.user, pk=pk)
    name = report.name
    saved_report_delete(report=report, by=request.user)
    messages.success(request, _("Report “%(name)s” deleted.") % {"name": name})
    return redirect("registry:report_saved_list")


def _xlsx_response(request, queryset, *, title: str, neighbourhood_id=None) -> HttpResponse:
    content = report_export_xlsx(
        user=request.user,
        queryset=queryset,
        title=title,
        neighbourhood_id=neighbourhood_id,
        ip=client_ip(request),
    )
    filename = f"{title}-{timezone.localdate():%Y%m%d}.xlsx"
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def builder_url_for(conditions: dict) -> str:
    """The builder's address for conditions (used by templates and tests)."""
    return f"{reverse('registry:reports')}?{conditions_to_querydict(conditions).urlencode()}"
