"""The 12345 hotline import for cadres: /issues/import/ (``core.tables.flow``).

Upload the hotline's XLSX or CSV export, check the dry-run preview (new work orders,
those imported before, every bad row), then confirm: each new row becomes a report
(``issues.hotline``). A pending upload belongs to its user: anyone else's token is a
404, like an unknown or expired one.
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buildings.permissions import MANAGE
from core.pages import staff_page
from core.tables.flow import ImportFlow, xlsx_response

from .. import hotline
from ..models import Category

DENIED = gettext_lazy("The hotline import is for the residents' committee.")

FLOW = ImportFlow(
    uploads=hotline.UPLOADS,
    check=hotline.check_hotline,
    save=hotline.save_hotline,
    summary=hotline.hotline_summary,
    max_bytes=hotline.max_upload_bytes,
    start_url="issues:import",
    preview_url="issues:import_preview",
    done_url="issues:import_done",
    preview_template="issues/import_preview.html",
    errors_filename=lambda: f"工单导入错误-{timezone.localdate():%Y%m%d}.xlsx",
    session_key="linli_hotline_import_result",
    outcome_class=hotline.HotlineOutcome,
)


@staff_page(MANAGE, denied=DENIED)
@require_http_methods(["GET", "POST"])
def import_start(request):
    form = FLOW.form(request)
    if request.method == "POST" and form.is_valid():
        return FLOW.receive(request, form)
    context = {
        "form": form,
        "columns": hotline.COLUMNS,
        "categories": Category.objects.filter(active=True),
        "max_mb": max(1, hotline.max_upload_bytes() // (1024 * 1024)),
        "max_rows": hotline.max_rows(),
    }
    return render(request, "issues/import.html", context, status=400 if form.errors else 200)


@staff_page(MANAGE, denied=DENIED)
@require_GET
def import_template(request):
    return xlsx_response(hotline.template_workbook(), "12345工单导入模板.xlsx")


@staff_page(MANAGE, denied=DENIED)
@require_GET
def import_preview(request, token):
    return FLOW.preview(request, FLOW.pending(request, token))


@staff_page(MANAGE, denied=DENIED)
@require_GET
def import_errors(request, token):
    return FLOW.errors(request, FLOW.pending(request, token))


@staff_page(MANAGE, denied=DENIED)
@require_POST
def import_confirm(request, token):
    return FLOW.confirm(request, FLOW.pending(request, token))


@staff_page(MANAGE, denied=DENIED)
@require_POST
def import_cancel(request, token):
    return FLOW.cancel(request, FLOW.pending(request, token))


@staff_page(MANAGE, denied=DENIED)
@require_GET
def import_done(request):
    summary = FLOW.done_summary(request)
    if not summary:
        return redirect("issues:import")
    return render(request, "issues/import_done.html", {"summary": summary})


urlpatterns = [
    path("import/", import_start, name="import"),
    path("import/template/", import_template, name="import_template"),
    path("import/done/", import_done, name="import_done"),
    path("import/<str:token>/", import_preview, name="import_preview"),
    path("import/<str:token>/errors/", import_errors, name="import_errors"),
    path("import/<str:token>/confirm/", import_confirm, name="import_confirm"),
    path("import/<str:token>/cancel/", import_cancel, name="import_cancel"),
]
