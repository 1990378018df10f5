"""Celery tasks of the webhooks (Celery autodiscovers this module): thin, idempotent
wrappers around ``webhooks.services``; they take ids."""

from celery import shared_task

DELIVER_TASK = "webhooks.deliver"
DELIVER_DUE_TASK = "webhooks.deliver_due"


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver(delivery_id: int) -> None:
    """One attempt of a delivery, if one is due (a duplicate task sends nothing)."""
    from .services import delivery_attempt

    delivery_attempt(delivery_id)


@shared_task(name=DELIVER_DUE_TASK, ignore_result=True)
def deliver_due() -> int:
    """Queue every delivery whose attempt is due (first tries the broker missed, and
    retries); scheduled every minute (``CELERY_BEAT_SCHEDULE["webhook-retries"]``)."""
    from .services import due_delivery_ids, enqueue

    ids = due_delivery_ids()
    enqueue(ids)
    return len(ids)
