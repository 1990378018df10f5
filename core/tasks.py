"""Celery tasks every deployment runs.

``heartbeat`` is scheduled by beat every minute (CELERY_BEAT_SCHEDULE). Each run
stores the current time (ISO 8601, UTC) in the default cache under
:data:`HEARTBEAT_CACHE_KEY` (``linli:celery:heartbeat``), so an operator - or a
readiness check - can tell that beat *and* a worker are alive: a value older
than a few minutes means one of them is not. Read it with :func:`last_heartbeat`
or, on Redis, ``GET <KEY_PREFIX>:1:linli:celery:heartbeat``.
"""

from __future__ import annotations

import datetime

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_CACHE_KEY = "linli:celery:heartbeat"
# Kept a day so a stopped beat shows *when* it stopped rather than vanishing.
HEARTBEAT_TIMEOUT = 24 * 60 * 60


@shared_task(name="core.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Record that a worker ran a task sent by beat; returns the time stored."""
    now = timezone.now().astimezone(datetime.UTC).isoformat()
    cache.set(HEARTBEAT_CACHE_KEY, now, timeout=HEARTBEAT_TIMEOUT)
    return now


def last_heartbeat() -> datetime.datetime | None:
    """When a worker last ran ``heartbeat`` (aware datetime), or None if never or unreadable."""
    value = cache.get(HEARTBEAT_CACHE_KEY)
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
