"""Celery tasks of the place tree (Celery autodiscovers this module): thin, idempotent
wrappers around services, scheduled by beat (``CELERY_BEAT_SCHEDULE`` in settings)."""

from celery import shared_task

INSPECTION_REMINDERS_TASK = "buildings.send_inspection_reminders"


@shared_task(name=INSPECTION_REMINDERS_TASK, ignore_result=True)
def send_inspection_reminders() -> dict:
    """Send today's elevator inspection reminders (``buildings.reminders``) now; a re-run
    the same day sends nothing. The daily schedule is the hook of
    ``notifications.schedule`` (registered in ``buildings.apps``): 08:30, or at once when
    it never ran; this task is for running it by hand."""
    from buildings.reminders import send_inspection_reminders as send

    return send()
