"""The daily wellbeing check (Celery). Thin and idempotent: the service raises
at most one alert per resident and gap, so a re-run or a retry raises nothing twice.

Scheduled by beat (``CELERY_BEAT_SCHEDULE["wellbeing-alerts"]``); the worker
finds the task because ``residents/tasks.py`` imports this module.
"""

from celery import shared_task

TASK_NAME = "residents.raise_wellbeing_alerts"


@shared_task(name=TASK_NAME, ignore_result=True)
def raise_wellbeing_alerts() -> int:
    """Raise the wellbeing alerts due now; returns how many were raised."""
    from residents.services.wellbeing import raise_wellbeing_alerts as raise_alerts

    return raise_alerts()
