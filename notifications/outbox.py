"""The outbox: work written in the caller's transaction, handed to Celery afterwards.

``dispatch()`` runs every 10 seconds from beat (and once right after each commit that
wrote entries, through :func:`kick`). It hands each entry not yet dispatched to its
task and marks it done; when the broker is unreachable it stops and leaves the rest for
the next run, so nothing is lost. It then sweeps the deliveries whose time has come
(held through quiet hours, or waiting for a retry). A task may thus arrive twice - every
task here takes ids and is safe to run twice.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.utils import timezone

from .delivery import due_delivery_ids
from .models import OutboxEntry

logger = logging.getLogger("linli.notifications")

BATCH = 500


def _task(name: str):
    from . import tasks

    return tasks.TASKS[name]


def dispatch(*, now=None, batch: int = BATCH) -> dict[str, int]:
    """Hand outbox entries and due deliveries to Celery; returns counts.

    ``now`` (tests): the time the entries are marked with, also passed to the tasks.
    """
    frozen = now is not None
    now = now or timezone.now()
    extra = {"now": now.isoformat()} if frozen else {}
    counts = {"dispatched": 0, "failed": 0, "due": 0}
    with transaction.atomic():
        queryset = OutboxEntry.objects.filter(dispatched_at__isnull=True).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        done = []
        for entry in queryset[:batch]:
            try:
                _task(entry.task).apply_async(kwargs={**entry.payload, **extra})
            except Exception as exc:  # noqa: BLE001 - the broker is away: try again later
                OutboxEntry.objects.filter(pk=entry.pk).update(
                    attempts=entry.attempts + 1, last_error=f"{exc.__class__.__name__}: {exc}"
                )
                counts["failed"] += 1
                logger.warning("outbox: broker unavailable (%s), will retry", exc)
                break
            done.append(entry.pk)
        if done:
            OutboxEntry.objects.filter(pk__in=done).update(dispatched_at=now)
        counts["dispatched"] = len(done)
    if counts["failed"]:
        return counts
    deliver = _task("notifications.deliver")
    for delivery_id in due_delivery_ids(now=now):
        try:
            deliver.apply_async(kwargs={"delivery_id": delivery_id, **extra})
        except Exception as exc:  # noqa: BLE001 - see above
            logger.warning("outbox: broker unavailable for the due sweep (%s)", exc)
            break
        counts["due"] += 1
    return counts


def kick() -> None:
    """Ask a worker to dispatch now (after a commit); the beat entry covers a failure."""
    try:
        _task("notifications.dispatch_outbox").delay()
    except Exception as exc:  # noqa: BLE001 - never fail the action that notified
        logger.warning("outbox: could not queue a dispatch (%s); beat will", exc)
