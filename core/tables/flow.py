"""The upload → dry-run preview → confirm flow of a table import, for any kind of table.

1. The user uploads a file (:class:`UploadForm`); it is kept encrypted under a token
   (:class:`core.tables.uploads.PendingUploads`) and the user is sent to its preview.
2. The preview checks the file without writing (the caller's ``check``) and shows
   what would change and every bad row; the bad rows can be downloaded as a workbook
   (:func:`errors_workbook`, which echoes the uploaded cells as safe text).
3. Confirm checks the same file again and saves it (the caller's ``save``), all or
   nothing; cancel discards it. A pending upload belongs to its user: another
   user's token, an unknown or an expired one is the same 404.

The caller's pages stay thin: they authorise, then hand over to an :class:`ImportFlow`
built once with the caller's functions, templates and URL names. ``check`` and
``save`` return a :class:`TableOutcome` (or a subclass with the caller's counts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import client_ip

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

    def preview(self, request, upload: Upload):
        outcome = self.check(user=request.user, data=upload.data, filename=upload.filename)
        return self.render_preview(request, upload, outcome)

    def errors(self, request, upload: Upload) -> HttpResponse:
        outcome = self.check(user=request.user, data=upload.data, filename=upload.filename)
        return xlsx_response(errors_workbook(outcome), self.errors_filename())

    def confirm(self, request, upload: Upload):
        outcome = self.save(
            user=request.user, data=upload.data, filename=upload.filename, ip=client_ip(request)
        )
        if not outcome.saved:  # the data changed since the preview, or the file is bad
            return self.render_preview(request, upload, outcome, status=400)
        self.uploads.discard(user=request.user, token=upload.token)
        request.session[self.session_key] = self.summary(outcome)
        messages.success(request, _("The file was imported."))
        return redirect(self.done_url)

    def cancel(self, request, upload: Upload):
        self.uploads.discard(user=request.user, token=upload.token)
        messages.info(request, _("The upload was discarded; nothing was saved."))
        return redirect(self.start_url)

    def done_summary(self, request) -> dict | None:
        return request.session.get(self.session_key) or None
