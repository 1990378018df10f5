"""Celery tasks of the registry (Celery autodiscovers this module).

Each concern keeps its tasks in its own module, imported here so that the
worker registers them; small ones live here. Tasks are thin and idempotent
wrappers around services.
"""

from celery import shared_task

from .tasks_wellbeing import raise_wellbeing_alerts  # noqa: F401

PURGE_VISITORS_TASK = "residents.purge_visitor_declarations"


@shared_task(name=PURGE_VISITORS_TASK, ignore_result=True)
def purge_visitor_declarations() -> int:
    """Blank visitors' personal fields LINLI_VISITOR_PURGE_DAYS after their stay ended.

    Scheduled daily by beat (``CELERY_BEAT_SCHEDULE["visitor-purge"]``); a re-run
    purges nothing twice. Returns how many declarations were purged.
    """
    from residents.services import visitor_declarations_purge

    return visitor_declarations_purge()
