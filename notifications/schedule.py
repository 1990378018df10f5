"""Daily jobs: the hook every app's reminders use (elevator inspections today; SLA notices,
poll openings and closings, activity reminders in the apps that come).

An app registers its job once, from its ``AppConfig.ready()``::

    register_daily_job("buildings.send_inspection_reminders", send_inspection_reminders,
                       at=datetime.time(8, 30))

``run(today=...)`` must be safe to run twice the same day (exactly-once through
``notify(..., key=...)``) and record itself with :func:`notifications.jobs.job_run` under
the same name. One beat tick (``notifications.run_daily_jobs``, every 30 seconds) runs
each job that is due: not yet started today (local date) and past its hour, or never run
at all (a fresh installation, the demo: at once). A run missed at its hour (the worker
was down) thus comes as soon as the worker is back. A tick with nothing due costs one
query per job.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

logger = logging.getLogger("linli.notifications")


@dataclass(frozen=True)
class DailyJob:
    name: str
    run: Callable[..., object]
    at: datetime.time


_JOBS: dict[str, DailyJob] = {}


def register_daily_job(name: str, run: Callable[..., object], *, at: datetime.time) -> DailyJob:
    job = DailyJob(name=name, run=run, at=at)
    _JOBS[name] = job
    return job


def daily_jobs() -> list[DailyJob]:
    return list(_JOBS.values())


def is_due(job: DailyJob, *, now: datetime.datetime | None = None) -> bool:
    """Whether ``job`` should run now (see the module docstring)."""
    from .models import JobRun

    now = timezone.localtime(now)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    runs = list(
        JobRun.objects.filter(name=job.name).order_by("-started_at").values_list("started_at")[:1]
    )
    if not runs:
        return True
    if runs[0][0] >= midnight:
        return False
    return now.time() >= job.at


def run_due_jobs(*, now: datetime.datetime | None = None) -> list[str]:
    """Run every registered job that is due; returns their names. A job that raises is
    logged (its job run records the failure) and the others still run."""
    ran = []
    for job in daily_jobs():
        if not is_due(job, now=now):
            continue
        try:
            job.run()
        except Exception:  # noqa: BLE001 - one job's failure must not stop the others
            logger.exception("daily job %s failed", job.name)
        ran.append(job.name)
    return ran
