"""Celery tasks of the registry (Celery autodiscovers this module). Each is a thin,
idempotent wrapper around a service: a re-run or a retry does nothing twice.
Scheduled by beat (``CELERY_BEAT_SCHEDULE`` in settings), or, for a big import, queued
by the import's confirm page."""

from celery import shared_task

PURGE_VISITORS_TASK = "residents.purge_visitor_declarations"
WELLBEING_TASK = "residents.raise_wellbeing_alerts"
IMPORT_TASK = "residents.import_registry_job"


@shared_task(name=PURGE_VISITORS_TASK, ignore_result=True)
def purge_visitor_declarations() -> int:
    """Blank visitors' personal fields LINLI_VISITOR_PURGE_DAYS after their stay ended.

    Scheduled daily by beat (``CELERY_BEAT_SCHEDULE["visitor-purge"]``); a re-run
    purges nothing twice. Returns how many declarations were purged.
    """
    from residents.services import visitor_declarations_purge

    return visitor_declarations_purge()


@shared_task(name=WELLBEING_TASK, ignore_result=True)
def raise_wellbeing_alerts() -> int:
    """Raise the wellbeing alerts due now (at most one per resident and gap); returns
    how many were raised. Scheduled daily (``CELERY_BEAT_SCHEDULE["wellbeing-alerts"]``)."""
    from residents.services.wellbeing import raise_wellbeing_alerts as raise_alerts

    return raise_alerts()


@shared_task(name=IMPORT_TASK, ignore_result=True)
def import_registry_job(job_id: int) -> None:
    """Save a big registry file for its import job (``core.TableJob``), started by the
    import's confirm page once the job is committed. The service claims the job first:
    a second delivery does nothing, except that a job still "running" after
    LINLI_IMPORT_JOB_STALE_MINUTES (its worker died; with acks_late the task comes again)
    is failed as interrupted, so its cadre can upload the file again."""
    from residents.registry_io import run_import_job

    run_import_job(job_id)
