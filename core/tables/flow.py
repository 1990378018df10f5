"""The upload → dry-run preview → confirm flow of a table import, for any kind of table.

1. The user uploads a file (:class:`UploadForm`); it is kept encrypted under a token
   (:class:`core.tables.uploads.PendingUploads`) and the user is sent to its preview.
2. The preview checks the file without writing (the caller's ``check``) and shows
   what would change and every bad row; the bad rows can be downloaded as a workbook
   (:func:`errors_workbook`, which echoes the uploaded cells as safe text).
3. Confirm checks the same file again and saves it (the caller's ``save``), all or
   nothing; cancel discards it. A pending upload belongs to its user: another
   user's token, an unknown or an expired one is the same 404.

A file is parsed and checked once for its preview: the outcome is kept, encrypted,
next to the upload (:meth:`PendingUploads.store_outcome`), and the preview page and
the errors workbook read it back. Only confirming checks again, since the registry
may have changed meanwhile. A file with more rows than ``background_rows()`` is saved
by the caller's Celery task (``start_job`` with a :class:`core.models.TableJob`'s id,
see :mod:`core.tables.jobs`): the confirm request returns at once, to a progress page
that refreshes itself and ends on the done page.

The caller's pages stay thin: they authorise, then hand over to an :class:`ImportFlow`
built once with the caller's functions, templates and URL names. ``check`` and
``save`` return a :class:`TableOutcome` (or a subclass with the caller's counts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import client_ip

from .jobs import job_create, job_fail_if_stale, job_for, job_live
from .uploads import PendingUploads, Upload
from .xlsx import XLSX_CONTENT_TYPE, XlsxBook


@dataclass(frozen=True)
class RowError:
    row: int  # the row number in the file (as Excel shows it)
    column: str  # the column's header as written in the file
    letter: str  # the column's letter (A, B …)
    value: str  # the cell as uploaded (shortened)
    message: str


@dataclass
class TableOutcome:
    """What checking (a dry run) or saving a table found or did."""

    filename: str = ""
    kind: str = ""
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    file_error: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    saved: bool = False

    @property
    def ok(self) -> bool:
        return not self.file_error and not self.errors

    @property
    def bad_rows(self) -> int:
        return len({error.row for error in self.errors if error.row})


def outcome_data(outcome: TableOutcome) -> dict:
    """An outcome as JSON-ready data, to be kept with its upload."""
    return dataclasses.asdict(outcome)


def outcome_from(cls: type[TableOutcome], data: dict) -> TableOutcome:
    """The outcome :func:`outcome_data` kept (``TypeError`` / ``ValueError`` if damaged)."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    values = {key: value for key, value in data.items() if key in names}
    values["errors"] = [RowError(**error) for error in values.get("errors", ())]
    return cls(**values)


def errors_workbook(outcome: TableOutcome) -> bytes:
    """The problems of a file as a workbook: row, column, the uploaded value, the problem."""
    book = XlsxBook()
    sheet = book.sheet("错误", widths=[6, 16, 30, 80])
    sheet.append([_("Row"), _("Column"), _("Value"), _("Problem")], bold=True)
    if outcome.file_error:
        sheet.append(["", "", "", outcome.file_error])
    for error in outcome.errors:
        column = f"{error.column} ({error.letter})" if error.letter else error.column
        sheet.append([error.row or "", column, error.value, error.message])
    return book.to_bytes()


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Excel or CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.txt"}),
    )

    def __init__(self, *args, max_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise ValidationError(
                _("The file is larger than %(size)s MB; split it into several files.")
                % {"size": self.max_bytes // (1024 * 1024)}
            )
        return upload


@dataclass
class ImportFlow:
    """One kind of table import's pages, apart from the caller's authorisation.

    ``check(user=, data=, filename=)`` is the dry run; ``save(user=, data=,
    filename=, ip=)`` saves all or nothing and returns an outcome with ``saved``;
    ``summary(outcome)`` is what the done page needs (kept in the session).
    URL names take the token as their one argument where they need it.

    Saving in the background needs ``start_job`` (enqueues the caller's task with a
    job's id), ``background_rows`` (more rows than this go to it), ``job_kind``,
    ``job_url`` and ``job_template`` (the progress page); ``job_neighbourhood(user)``
    is the neighbourhood a job is filed under. The task calls the same ``save``.
    """

    uploads: PendingUploads
    check: Callable[..., TableOutcome]
    save: Callable[..., TableOutcome]
    summary: Callable[[TableOutcome], dict]
    max_bytes: Callable[[], int]
    start_url: str
    preview_url: str
    done_url: str
    preview_template: str
    errors_filename: Callable[[], str]
    session_key: str
    errors_shown: int = 500
    outcome_class: type[TableOutcome] = TableOutcome
    start_job: Callable[[int], object] | None = None
    background_rows: Callable[[], int] = lambda: 5000
    job_kind: str = ""
    job_url: str = ""
    job_template: str = ""
    job_neighbourhood: Callable[..., int | None] = lambda user: None
    refresh_seconds: int = 2

    def form(self, request=None) -> UploadForm:
        if request is not None and request.method == "POST":
            return UploadForm(request.POST, request.FILES, max_bytes=self.max_bytes())
        return UploadForm(max_bytes=self.max_bytes())

    def receive(self, request, form: UploadForm):
        """Keep a valid form's file and send the user to its preview."""
        upload = form.cleaned_data["file"]
        self.uploads.purge_expired()
        token = self.uploads.store(user=request.user, filename=upload.name, data=upload.read())
        return redirect(self.preview_url, token=token)

    def pending(self, request, token: str) -> Upload:
        upload = self.uploads.load(user=request.user, token=token)
        if upload is None:  # unknown, expired or someone else's: the same answer
            raise Http404
        return upload

    def render_preview(self, request, upload: Upload, outcome: TableOutcome, status=200):
        context = {
            "upload": upload,
            "result": outcome,
            "errors": outcome.errors[: self.errors_shown],
            "errors_hidden": max(0, len(outcome.errors) - self.errors_shown),
            "form": self.form(),
        }
        return render(request, self.preview_template, context, status=status)

    def keep_outcome(self, user, token: str, outcome: TableOutcome) -> None:
        self.uploads.store_outcome(user=user, token=token, outcome=outcome_data(outcome))

    def outcome(self, request, upload: Upload) -> TableOutcome:
        """The checked outcome of an upload: the one kept with it, or checked now and kept."""
        kept = self.uploads.load_outcome(user=request.user, token=upload.token)
        if kept is not None:
            try:
                return outcome_from(self.outcome_class, kept)
            except (TypeError, ValueError):
                pass  # kept by an older version: check again
        outcome = self.check(user=request.user, data=upload.data, filename=upload.filename)
        self.keep_outcome(request.user, upload.token, outcome)
        return outcome

    def preview(self, request, upload: Upload):
        return self.render_preview(request, upload, self.outcome(request, upload))

    def errors(self, request, upload: Upload) -> HttpResponse:
        outcome = self.outcome(request, upload)
        return xlsx_response(errors_workbook(outcome), self.errors_filename())

    def confirm(self, request, upload: Upload):
        if self.start_job is not None:
            checked = self.outcome(request, upload)
            if checked.rows > self.background_rows():
                return self.confirm_in_background(request, upload, checked)
        outcome = self.save(
            user=request.user, data=upload.data, filename=upload.filename, ip=client_ip(request)
        )
        if not outcome.saved:  # the data changed since the preview, or the file is bad
            self.keep_outcome(request.user, upload.token, outcome)
            return self.render_preview(request, upload, outcome, status=400)
        self.uploads.discard(user=request.user, token=upload.token)
        request.session[self.session_key] = self.summary(outcome)
        messages.success(request, _("The file was imported."))
        return redirect(self.done_url)

    def confirm_in_background(self, request, upload: Upload, checked: TableOutcome):
        """Hand a big file to the caller's task; the request returns at once."""
        job, created = job_create(
            kind=self.job_kind,
            user=request.user,
            upload_token=upload.token,
            filename=upload.filename,
            rows_total=checked.rows,
            neighbourhood_id=self.job_neighbourhood(request.user),
            ip=client_ip(request),
        )
        if created:  # the worker must find the job's row: start it once it is committed
            transaction.on_commit(partial(self.start_job, job.pk))
        return redirect(self.job_url, token=job.token)

    def job_page(self, request, token):
        """A job's progress; once done, its summary goes to the done page."""
        job = job_for(user=request.user, token=token, kind=self.job_kind)
        if job is None:  # unknown or someone else's: the same answer
            raise Http404
        job = job_fail_if_stale(job)  # its worker died: failed, so the page stops refreshing
        if job.status == job.Status.DONE:
            request.session[self.session_key] = job.result
            messages.success(request, _("The file was imported."))
            return redirect(self.done_url)
        live = job_live(job)
        context = {
            "job": job,
            "live": live,
            "percent": min(100, live["done"] * 100 // live["total"]) if live["total"] else 0,
            "refresh_seconds": 0 if job.finished else self.refresh_seconds,
            "retry_token": job.upload_token
            if job.upload_token and self.uploads.exists(user=request.user, token=job.upload_token)
            else "",
        }
        return render(request, self.job_template, context)

    def cancel(self, request, upload: Upload):
        self.uploads.discard(user=request.user, token=upload.token)
        messages.info(request, _("The upload was discarded; nothing was saved."))
        return redirect(self.start_url)

    def done_summary(self, request) -> dict | None:
        return request.session.get(self.session_key) or None
