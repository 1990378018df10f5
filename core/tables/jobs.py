"""Table imports too big for one web request, run by a Celery worker (``core.TableJob``).

The web request creates a job (:func:`job_create`) and hands its id to the caller's
task once the job row is committed; the task claims it (:func:`job_start`, so a retry
or a second delivery runs nothing twice), reports progress and ends it
(:func:`job_finish` or :func:`job_fail`). A worker that dies mid-job ends nothing, and
its redelivered task finds the job no longer queued: so a job running for more than
``LINLI_IMPORT_JOB_STALE_MINUTES`` (30) counts as interrupted (:func:`job_fail_if_stale`,
called by the progress page and by a redelivery; the save runs in one transaction, so an
interrupted job saved nothing), and its user can upload again. The progress page reads
it back with :func:`job_for` - only the user who started a job finds it: anyone else's,
an unknown or a malformed token is the same ``None`` (a 404).

A save runs in one transaction, which another connection cannot see into until it
commits; so the live count of rows checked goes to the cache (:func:`job_progress`,
:func:`job_live`), counts only, and the job row gets its final counts when it ends.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import TableJob

Status = TableJob.Status
ACTIVE = (Status.QUEUED, Status.RUNNING)
LIVE_SECONDS = 24 * 3600


def job_create(
    *,
    kind: str,
    user,
    upload_token: str,
    filename: str = "",
    rows_total: int = 0,
    neighbourhood_id: int | None = None,
    ip: str | None = None,
) -> tuple[TableJob, bool]:
    """A queued job for ``user``'s pending upload, and whether it is new: an active one
    for the same upload is returned instead of a second (a confirm pressed twice)."""
    active = TableJob.objects.filter(
        kind=kind, user=user, upload_token=upload_token, status__in=ACTIVE
    ).first()
    if active is not None:
        return active, False
    job = TableJob.objects.create(
        kind=kind,
        user=user,
        upload_token=upload_token,
        filename=(filename or "")[:200],
        rows_total=rows_total,
        neighbourhood_id=neighbourhood_id,
        ip_address=ip,
    )
    return job, True


def job_for(*, user, token, kind: str | None = None) -> TableJob | None:
    """``user``'s own job by its token, or None (unknown, malformed or someone else's)."""
    try:
        token = uuid.UUID(str(token))
    except ValueError:
        return None
    if not getattr(user, "pk", None):
        return None
    jobs = TableJob.objects.filter(user=user, token=token)
    if kind is not None:
        jobs = jobs.filter(kind=kind)
    return jobs.first()


def job_start(job_id: int) -> TableJob | None:
    """Claim a queued job for running; None if it is unknown or already claimed.

    A job claimed by a worker that died long ago (a redelivery under ``acks_late``) is
    failed as interrupted here, so it does not stay "running" for ever."""
    claimed = TableJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        job = TableJob.objects.filter(pk=job_id, status=Status.RUNNING).first()
        if job is not None:
            job_fail_if_stale(job)
        return None
    return TableJob.objects.select_related("user").get(pk=job_id)


def stale_after() -> datetime.timedelta:
    """How long a job may run before it counts as interrupted (its worker died)."""
    minutes = getattr(settings, "LINLI_IMPORT_JOB_STALE_MINUTES", 30)
    return datetime.timedelta(minutes=max(1, int(minutes)))


def interrupted_message() -> str:
    return _("The import was interrupted before it finished; nothing was saved.")


def job_is_stale(job: TableJob, *, now=None) -> bool:
    """Whether ``job`` has been running for longer than :func:`stale_after`."""
    if job.status != Status.RUNNING or job.started_at is None:
        return False
    return job.started_at < (now or timezone.now()) - stale_after()


def job_fail_if_stale(job: TableJob, *, now=None) -> TableJob:
    """``job``, failed as interrupted if it has been running too long (else unchanged).

    The update is conditional on the job still running, so a worker that ends the job
    at the same moment is not overwritten. Its page then sends the user to upload the
    file again (the pending upload is no longer the job's; it expires on its own)."""
    if not job_is_stale(job, now=now):
        return job
    now = now or timezone.now()
    fields = {
        "status": Status.FAILED,
        "error": interrupted_message(),
        "upload_token": "",
        "finished_at": now,
    }
    failed = TableJob.objects.filter(
        pk=job.pk, status=Status.RUNNING, started_at__lt=now - stale_after()
    ).update(**fields)
    if failed:
        cache.delete(_live_key(job))
    job.refresh_from_db()
    return job


def job_still_running(job: TableJob) -> bool:
    """Whether ``job``'s row still says running (not failed as interrupted meanwhile)."""
    return TableJob.objects.filter(pk=job.pk, status=Status.RUNNING).exists()


def _live_key(job: TableJob) -> str:
    return f"linli:tablejob:{job.token}"


def job_progress(job: TableJob, *, done: int, total: int, stage: str = "checking") -> None:
    """The live count of a running job (cache only: seen while its transaction is open)."""
    cache.set(_live_key(job), {"stage": stage, "done": done, "total": total}, LIVE_SECONDS)


def job_live(job: TableJob) -> dict:
    """What a job last reported: its stage, rows done, rows in all."""
    live = cache.get(_live_key(job)) if job.status == Status.RUNNING else None
    if isinstance(live, dict):
        return {
            "stage": live.get("stage", "checking"),
            "done": live.get("done", 0),
            "total": live.get("total") or job.rows_total,
        }
    stage = {Status.QUEUED: "waiting", Status.RUNNING: "checking"}.get(job.status, "done")
    return {"stage": stage, "done": job.rows_done, "total": job.rows_total}


def _end(job: TableJob, **fields) -> TableJob:
    fields.setdefault("upload_token", "")
    fields["finished_at"] = timezone.now()
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=list(fields))
    cache.delete(_live_key(job))
    return job


def job_finish(job: TableJob, *, result: dict, rows: int) -> TableJob:
    """The job is done; ``result`` is the summary its done page shows (no cell values)."""
    return _end(job, status=Status.DONE, result=result, rows_done=rows, rows_total=rows)


def job_fail(job: TableJob, *, error: str, keep_upload: bool = False) -> TableJob:
    """The job saved nothing; ``error`` says why. ``keep_upload`` keeps the pending
    upload's token on the job, so its page can send the user back to the preview."""
    token = job.upload_token if keep_upload else ""
    return _end(job, status=Status.FAILED, error=str(error), upload_token=token)
