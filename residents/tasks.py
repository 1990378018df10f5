"""Celery tasks of the registry (Celery autodiscovers this module). Each is a thin,
idempotent wrapper around a service: a re-run or a retry does nothing twice.
Scheduled by beat (``CELERY_BEAT_SCHEDULE`` in settings)."""

from celery import shared_task

PURGE_VISITORS_TASK = "residents.purge_visitor_declarations"
WELLBEING_TASK = "residents.raise_wellbeing_alerts"


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
