"""Celery tasks of notifications: thin wrappers that take ids and are safe to run twice."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

DELIVER_TASK = "notifications.deliver"
DISPATCH_TASK = "notifications.dispatch_outbox"
DIGEST_TASK = "notifications.email_digest"
PURGE_TASK = "notifications.purge"


def _when(now: str | None):
    return dt.datetime.fromisoformat(now) if now else None


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver(delivery_id: int, now: str | None = None) -> str:
    """Send one Delivery if it is still due (``now``: ISO time, tests only)."""
    from .delivery import deliver as deliver_one

    return deliver_one(delivery_id, now=_when(now))


@shared_task(name=DISPATCH_TASK, ignore_result=True)
def dispatch_outbox() -> dict:
    """Beat, every 10 s, and after each commit that wrote outbox entries."""
    from .outbox import dispatch

    return dispatch()


@shared_task(name=DIGEST_TASK, ignore_result=True)
def email_digest() -> int:
    from .maintenance import send_digests
    from .outbox import kick

    queued = send_digests()
    if queued:
        kick()
    return queued


@shared_task(name=PURGE_TASK, ignore_result=True)
def purge() -> int:
    from .maintenance import purge_notifications

    return purge_notifications()


#: the tasks the outbox may name
TASKS = {DELIVER_TASK: deliver, DISPATCH_TASK: dispatch_outbox}


@shared_task(name="notifications.run_daily_jobs", ignore_result=True)
def run_daily_jobs() -> list[str]:
    """The daily jobs that are due (``notifications.schedule``); beat ticks it every 30 s."""
    from .schedule import run_due_jobs

    return run_due_jobs()
