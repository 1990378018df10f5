"""Excel import and export pages for cadres: /registry/import/ and /registry/export/.

Import is three steps: upload (the file is kept server-side, encrypted, for a day at
most), a dry-run preview of what would be created, updated or left unchanged with
every bad row, then a confirmation that checks the same file again and saves it in
one transaction, or nothing. A pending upload belongs to the user who sent it:
anyone else's token is a 404. The file is checked once for the preview (the outcome is
kept with the upload); a file of more than ``LINLI_IMPORT_BACKGROUND_ROWS`` rows is
saved by a Celery task while a progress page refreshes itself (another user's job is a
404 too).

Export writes the residents the filters select (within the viewer's scope) to XLSX.
Its filters take the same query parameters as the registry admin's resident list
(``estate__id__exact``, ``building__id__exact``, ``care_tags__id__exact``, ``age``,
``residence_status__exact``, ``gender__exact``, ``lives_alone__exact``,
``moved_out``, ``q``), so the admin can link "export this list" with its own query
string. Identifiers are masked; full values need ``residents.view_full_identity``
and a POST with "full values" ticked, and are audited like every export.
"""

from __future__ import annotations

import tempfile

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buildings.models import Building, Estate
from buildings.permissions import MANAGE
from core.audit import client_ip
from core.pages import staff_page
from core.scoping import scope_for
from core.tables.flow import ImportFlow, xlsx_response
from core.tables.xlsx import XLSX_CONTENT_TYPE

from ..models import CareTag, Gender, ResidenceStatus
from ..permissions import may_see_full_identity, require_full_identity
from ..registry_io import (
    COLUMNS,
    GENDER_NAMES,
    ID_TYPE_NAMES,
    JOB_KIND,
    RELATION_NAMES,
    STATUS_NAMES,
    UPLOADS,
    ImportResult,
    background_rows,
    import_summary,
    max_upload_bytes,
    plan_import,
    save_import,
    template_workbook,
    write_export,
)
from ..search import query_without_id_numbers, resident_search_q
from ..selectors import residents_visible_to
from ..selectors.registry import AGE_BANDS, age_band_q
from ..tasks import import_registry_job

PAGE_SIZE = 50
# Selects list every estate / building in scope up to these many (a district user types ids).
MAX_CHOICES = 300


DENIED = gettext_lazy("Import and export are for the residents' committee.")


def _start_import_job(job_id: int) -> None:
    import_registry_job.delay(job_id)


def _job_neighbourhood(user) -> int | None:
    """The neighbourhood an import job is filed under: the user's, if they manage one."""
    ids = scope_for(user, MANAGE).neighbourhood_ids
    return next(iter(ids)) if len(ids) == 1 else None


# The upload -> preview -> confirm steps (core.tables.flow), for the registry; files of
# more than background_rows() rows are saved by a Celery task, with a progress page.
FLOW = ImportFlow(
    uploads=UPLOADS,
    check=plan_import,
    save=save_import,
    summary=import_summary,
    max_bytes=max_upload_bytes,
    start_url="registry:import",
    preview_url="registry:import_preview",
    done_url="registry:import_done",
    preview_template="residents/import_preview.html",
    errors_filename=lambda: f"导入错误-{timezone.localdate():%Y%m%d}.xlsx",
    session_key="linli_import_result",
    outcome_class=ImportResult,
    start_job=_start_import_job,
    background_rows=background_rows,
    job_kind=JOB_KIND,
    job_url="registry:import_job",
    job_template="residents/import_job.html",
    job_neighbourhood=_job_neighbourhood,
)


def _column_rows():
    """The columns for the page's table: header, English header, required, allowed values."""
    choices = {
        "id_type": ID_TYPE_NAMES,
        "gender": GENDER_NAMES,
        "relation": RELATION_NAMES,
        "residence_status": STATUS_NAMES,
    }
    tags = "、".join(CareTag.objects.filter(active=True).values_list("name", flat=True))
    rows = []
    for column in COLUMNS:
        values = ""
        if column.key in choices:
            values = "、".join(names[0] for names in choices[column.key].values())
        elif column.key == "care_tags":
            values = tags
        elif column.key == "lives_alone":
            values = "是、否"
        rows.append({"column": column, "help": _column_help(column, values)})
    return rows


def _column_help(column, values: str) -> str:
    """The help cell, punctuated by the language shown ("：" and "。" in Chinese)."""
    text = str(column.label)
    if values:
        text = _("%(label)s: %(values)s") % {"label": text, "values": values}
    if column.help:
        text = _("%(text)s. %(help)s") % {"text": text, "help": column.help}
    return text


@staff_page(MANAGE, denied=DENIED)
@require_http_methods(["GET", "POST"])
def import_start(request):
    form = FLOW.form(request)
    if request.method == "POST" and form.is_valid():
        return FLOW.receive(request, form)
    context = {
        "form": form,
        "columns": _column_rows(),
        "max_mb": max_upload_bytes() // (1024 * 1024),
    }
    return render(request, "residents/import.html", context, status=400 if form.errors else 200)


@staff_page(MANAGE, denied=DENIED)
@require_GET
def import_template(request):
    return xlsx_response(template_workbook(user=request.user), "居民信息导入模板.xlsx")


def _pending(request, token):
    """The user's pending upload (the views calling this are staff pages)."""
    return FLOW.pending(request, token)


@staff_page(MANAGE, denied=DENIED)
@require_GET
def import_preview(request, token):
    return FLOW.preview(request, _pending(request, token))


@staff_page(MANAGE, denied=DENIED)
@require_GET
def import_errors(request, token):
    return FLOW.errors(request, _pending(request, token))


@staff_page(MANAGE, denied=DENIED)
@require_POST
def import_confirm(request, token):
    return FLOW.confirm(request, _pending(request, token))


@staff_page(MANAGE, denied=DENIED)
@require_POST
def import_cancel(request, token):
    return FLOW.cancel(request, _pending(request, token))


@staff_page(MANAGE, denied=DENIED)
@require_GET
def import_job(request, token):
    """A big import's progress (its user's only); it refreshes itself, then ends on the
    done page."""
    return FLOW.job_page(request, token)


@staff_page(MANAGE, denied=DENIED)
@require_GET
def import_done(request):
    summary = FLOW.done_summary(request)
    if not summary:
        return redirect("registry:import")
    residents = (
        residents_visible_to(user=request.user)
        .filter(pk__in=summary["resident_ids"])
        .order_by("estate__name", "building__number", "dwelling__room", "household_id", "pk")
    )
    return render(
        request,
        "residents/import_done.html",
        {
            "summary": summary,
            "residents": residents,
            "more": summary["created"] + summary["updated"] - len(summary["resident_ids"]),
        },
    )


# --- export --------------------------------------------------------------------------------

ANY = ("", gettext_lazy("Any"))


class ExportFilterForm(forms.Form):
    """The registry list's filters, named as the admin's resident list names them."""

    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=80,  # a whole ID number arrives as its search token (residents.search)
        help_text=gettext_lazy("Name (张三, zhangsan or zs), last 4 digits of a phone or ID."),
    )
    estate__id__exact = forms.IntegerField(label=gettext_lazy("Estate"), required=False)
    building__id__exact = forms.IntegerField(label=gettext_lazy("Building"), required=False)
    care_tags__id__exact = forms.TypedChoiceField(
        label=gettext_lazy("Care tag"), required=False, coerce=int, empty_value=None
    )
    age = forms.ChoiceField(label=gettext_lazy("Age"), required=False)
    residence_status__exact = forms.ChoiceField(
        label=gettext_lazy("Residence status"),
        required=False,
        choices=[ANY, *ResidenceStatus.choices],
    )
    gender__exact = forms.ChoiceField(
        label=gettext_lazy("Gender"), required=False, choices=[ANY, *Gender.choices]
    )
    lives_alone__exact = forms.ChoiceField(
        label=gettext_lazy("Lives alone"),
        required=False,
        choices=[ANY, ("1", gettext_lazy("Yes")), ("0", gettext_lazy("No"))],
    )
    moved_out = forms.ChoiceField(
        label=gettext_lazy("Moved out"),
        required=False,
        choices=[
            ANY,
            ("no", gettext_lazy("No (living here)")),
            ("yes", gettext_lazy("Yes")),
        ],
    )
    full = forms.BooleanField(
        label=gettext_lazy("Full ID and phone numbers (recorded in the audit log)"),
        required=False,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)

        self.user = user
        self.scope = scope_for(user, MANAGE)
        self.fields["age"].choices = [ANY, *[(value, label) for value, label, *_r in AGE_BANDS]]
        self.fields["care_tags__id__exact"].choices = [
            ANY,
            *CareTag.objects.order_by("sort_order", "name").values_list("pk", "name"),
        ]
        estates = list(
            self.scope.filter(Estate.objects.all())
            .order_by("name")
            .values_list("pk", "name")[: MAX_CHOICES + 1]
        )
        if len(estates) <= MAX_CHOICES:
            self.fields["estate__id__exact"].widget = forms.Select(choices=[ANY, *estates])
        buildings = self.scope.filter(Building.objects.all())
        estate_id = self.data.get("estate__id__exact") if self.is_bound else None
        if estate_id and str(estate_id).isdigit():
            buildings = buildings.filter(estate_id=int(estate_id))
        buildings = list(
            buildings.order_by("estate__name", "number").values_list(
                "pk", "estate__name", "number"
            )[: MAX_CHOICES + 1]
        )
        if len(buildings) <= MAX_CHOICES:
            self.fields["building__id__exact"].widget = forms.Select(
                choices=[ANY, *[(pk, f"{estate} {number}") for pk, estate, number in buildings]]
            )
        if not may_see_full_identity(user):
            del self.fields["full"]

    def _scoped_place(self, name, model):
        pk = self.cleaned_data.get(name)
        if pk is not None and not self.scope.filter(model.objects.filter(pk=pk)).exists():
            raise ValidationError(_("Select a place you manage."))
        return pk

    def clean_estate__id__exact(self):
        return self._scoped_place("estate__id__exact", Estate)

    def clean_building__id__exact(self):
        return self._scoped_place("building__id__exact", Building)

    def queryset(self):
        """The selected residents, scoped, in place order, with what the export reads."""

        data = self.cleaned_data if self.is_bound else {}  # unbound: everyone in scope
        queryset = residents_visible_to(user=self.user)
        conditions = Q()
        if data.get("q"):
            conditions &= resident_search_q(data["q"])
        for name, lookup in (
            ("estate__id__exact", "estate_id"),
            ("building__id__exact", "building_id"),
            ("residence_status__exact", "residence_status"),
            ("gender__exact", "gender"),
        ):
            if data.get(name) not in (None, ""):
                conditions &= Q(**{lookup: data[name]})
        if data.get("care_tags__id__exact") is not None:
            conditions &= Q(care_tags__id=data["care_tags__id__exact"])
        for value, _label, low, high in AGE_BANDS:
            if data.get("age") == value:
                conditions &= age_band_q(low, high, timezone.localdate())
        if data.get("lives_alone__exact") in ("1", "0"):
            conditions &= Q(lives_alone=data["lives_alone__exact"] == "1")
        if data.get("moved_out") == "no":
            conditions &= Q(moved_out__isnull=True)
        elif data.get("moved_out") == "yes":
            conditions &= Q(moved_out__isnull=False)
        return queryset.filter(conditions).order_by(
            "estate__name", "building__number", "dwelling__room", "household_id", "pk"
        )

    def query_without(self, *names) -> str:
        query = self.data.copy() if self.is_bound else {}
        for name in ("page", "full", "csrfmiddlewaretoken", *names):
            query.pop(name, None)
        return query.urlencode() if query else ""


@staff_page(MANAGE, denied=DENIED)
@require_GET
def export_page(request):
    swapped = query_without_id_numbers(request.GET)
    if swapped is not None:  # a whole ID number leaves the URL (residents.search)
        return HttpResponseRedirect(f"{request.path}?{swapped.urlencode()}")
    form = ExportFilterForm(request.GET or None, user=request.user)
    context = {"form": form, "page_obj": None, "query": form.query_without()}
    if form.is_bound and not form.is_valid():
        return render(request, "residents/export.html", context, status=400)
    paginator = Paginator(form.queryset(), PAGE_SIZE)
    context["page_obj"] = paginator.get_page(request.GET.get("page"))
    context["page_query"] = form.query_without()
    return render(request, "residents/export.html", context)


@staff_page(MANAGE, denied=DENIED)
@require_http_methods(["GET", "POST"])
def export_download(request):
    """The selected residents as XLSX. Full values only by POST, with the permission."""
    data = request.POST if request.method == "POST" else request.GET
    swapped = query_without_id_numbers(request.GET) if request.method == "GET" else None
    if swapped is not None:  # a whole ID number leaves the URL (residents.search)
        return HttpResponseRedirect(f"{request.path}?{swapped.urlencode()}")
    wants_full = request.method == "POST" and data.get("full") in ("on", "1", "true")
    if wants_full:
        require_full_identity(request.user)
    form = ExportFilterForm(data, user=request.user)
    if not form.is_valid():
        context = {"form": form, "page_obj": None, "query": form.query_without()}
        return render(request, "residents/export.html", context, status=400)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_export(
        user=request.user,
        queryset=form.queryset(),
        full=wants_full,
        fileobj=handle,
        ip=client_ip(request),
    )
    handle.seek(0)
    name = f"居民-{timezone.localdate():%Y%m%d}.xlsx"
    response = FileResponse(
        handle, as_attachment=True, filename=name, content_type=XLSX_CONTENT_TYPE
    )
    response["Cache-Control"] = "no-store"
    return response
