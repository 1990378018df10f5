"""Importing a registry file: check (a dry run), then save all of it or nothing.

:func:`plan_import` reads every row and checks it against the registry without
writing. :func:`import_registry` with ``dry_run=False`` plans again (the registry may
have changed since the preview) and, only when no row is bad, writes everything in
one transaction. Importing the same file again writes nothing: no row, no history
record. A blank cell leaves what the registry holds unchanged (a new resident gets
the default), so a file with fewer columns never wipes data; a masked phone
(``138****1234``, as a masked export shows it) counts as blank.

A file with more rows than ``background_rows()`` is saved by a Celery task
(``residents.tasks.import_registry_job``), which calls :func:`run_import_job`: the same
:func:`save_import` the web request calls, with a progress report.
"""

from __future__ import annotations

import logging
from functools import partial

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from buildings.permissions import MANAGE
from core.scoping import scope_for
from core.tables import jobs
from core.tables.flow import outcome_data
from core.tables.reading import TableFileError

from .applying import ApplyFailed
from .columns import read_registry_table
from .planning import ImportResult, Planner
from .uploads import UPLOADS

logger = logging.getLogger(__name__)
JOB_KIND = "residents.registry"


def plan_import(*, user, data: bytes, filename: str = "") -> ImportResult:
    """A dry run: what importing ``data`` would do, and every bad row. Writes nothing."""
    return import_registry(user=user, data=data, filename=filename, dry_run=True)


def save_import(
    *, user, data: bytes, filename: str = "", ip: str | None = None, progress=None
) -> ImportResult:
    """Save a file (all of it, or nothing if a row is bad)."""
    return import_registry(
        user=user, data=data, filename=filename, dry_run=False, ip=ip, progress=progress
    )


def import_registry(
    *,
    user,
    data: bytes,
    filename: str = "",
    dry_run: bool = True,
    ip: str | None = None,
    progress=None,
) -> ImportResult:
    """Check a file and, unless ``dry_run``, save it - all of it, or nothing if a row is bad.

    ``progress(done=, total=, stage=)``, if given, hears how many rows were checked,
    then that the rows are being saved."""
    if scope_for(user, MANAGE).is_empty:
        raise PermissionDenied(_("Only the residents' committee imports residents."))
    try:
        table = read_registry_table(data)
    except TableFileError as exc:
        return ImportResult(filename=filename, file_error=str(exc))
    checked = partial(progress, stage="checking") if progress else None
    if dry_run:
        return Planner(user=user, table=table, progress=checked).plan().result(filename=filename)
    try:
        with transaction.atomic():
            planner = Planner(user=user, table=table, progress=checked).plan()
            if planner.errors:
                return planner.result(filename=filename)
            if progress:
                progress(done=len(table.rows), total=len(table.rows), stage="saving")
            planner.apply(filename=filename, ip=ip)
    except ApplyFailed as exc:
        result = planner.result(filename=filename)
        result.errors = exc.errors
        return result
    except IntegrityError:
        return ImportResult(
            filename=filename,
            kind=table.kind,
            rows=len(table.rows),
            file_error=_(
                "The registry changed while this file was being saved (someone registered "
                "one of these people meanwhile). Nothing was saved: check the file again."
            ),
        )
    return planner.result(filename=filename, saved=True)


def import_summary(result: ImportResult) -> dict:
    """What the done page shows of a saved import (kept in the session)."""
    return {
        "filename": result.filename,
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "households_created": result.households_created,
        "resident_ids": result.resident_ids,
    }


def run_import_job(job_id: int) -> None:
    """Save the file of a queued import job (``core.TableJob``), reporting progress.

    The job is claimed first, so a second delivery of the task does nothing. Messages are
    written in the language of the user who started it. Nothing is saved unless every row
    is good; then the pending upload is kept, with this check's outcome, so the preview
    shows why.
    """
    job = jobs.job_start(job_id)  # a redelivery of a job whose worker died fails it there
    if job is None:
        return
    user = job.user
    with translation.override(getattr(user, "language", None) or translation.get_language()):
        try:
            _run(job, user)
        except _Interrupted:  # failed as interrupted meanwhile; the save was rolled back
            logger.warning("registry import job %s was failed as interrupted", job.pk)
            jobs.job_fail(job, error=jobs.interrupted_message())
        except Exception:  # the job must end, whatever went wrong; the log keeps the trace
            logger.exception("registry import job %s failed", job.pk)
            jobs.job_fail(
                job,
                error=_("The import stopped because of an unexpected error; nothing was saved."),
                keep_upload=True,
            )


class _Interrupted(Exception):
    """The job was failed as interrupted (``jobs.job_fail_if_stale``) while it ran."""


def _report(job, *, done: int, total: int, stage: str = "checking") -> None:
    # Before the rows are written (inside the save's transaction): a job already failed as
    # interrupted must not save after all, or its page would have said "nothing was saved"
    # wrongly; raising rolls the transaction back.
    if stage == "saving" and not jobs.job_still_running(job):
        raise _Interrupted
    jobs.job_progress(job, done=done, total=total, stage=stage)


def _run(job, user) -> None:
    upload = UPLOADS.load(user=user, token=job.upload_token)
    if upload is None:
        jobs.job_fail(
            job,
            error=_("The uploaded file is no longer kept (it expired or was discarded)."),
        )
        return
    result = save_import(
        user=user,
        data=upload.data,
        filename=upload.filename,
        ip=job.ip_address,
        progress=partial(_report, job),
    )
    if result.saved:
        UPLOADS.discard(user=user, token=upload.token)
        jobs.job_finish(job, result=import_summary(result), rows=result.rows)
        return
    UPLOADS.store_outcome(user=user, token=upload.token, outcome=outcome_data(result))
    if result.file_error:
        error = result.file_error
    else:
        error = ngettext(
            "%(count)s row needs fixing; nothing was saved.",
            "%(count)s rows need fixing; nothing was saved.",
            result.bad_rows,
        ) % {"count": result.bad_rows}
    jobs.job_fail(job, error=error, keep_upload=True)
