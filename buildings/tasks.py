"""Celery tasks of the place tree (Celery autodiscovers this module): thin, idempotent
wrappers around services, scheduled by beat (``CELERY_BEAT_SCHEDULE`` in settings)."""

from celery import shared_task

INSPECTION_REMINDERS_TASK = "buildings.send_inspection_reminders"


@shared_task(name=INSPECTION_REMINDERS_TASK, ignore_result=True)
def send_inspection_reminders(catch_up: bool = False) -> dict | None:
    """Send today's elevator inspection reminders (``buildings.reminders``); a re-run the
    same day sends nothing.

    Beat runs it daily at 08:30 and ticks it every 30 seconds with ``catch_up=True``: a tick
    runs the job only when it has not run today and it is past 08:30, or it has never run
    at all (so the demo shows reminders within a minute of start: the first tick comes
    30 s after beat starts); otherwise a tick costs one or two small queries.
    """
    from buildings.reminders import reminders_due_now
    from buildings.reminders import send_inspection_reminders as send

    if catch_up and not reminders_due_now():
        return None
    return send()
