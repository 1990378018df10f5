"""The record of every job run: ``with job_run("buildings.elevator_reminders") as run:``.

Inside the block, ``run.count("sent", 3, neighbourhood=n)`` adds to the run's counts and
to that neighbourhood's share (a ``JobRunPlace`` row, which its cadres see in the admin);
``run.error(text)`` records a problem that did not stop the run. An exception ends the
run as failed, with its traceback, and is raised again. Use it outside any transaction:
the run row is saved on its own.
"""

from __future__ import annotations

import traceback
from contextlib import contextmanager

from django.utils import timezone

from .models import JobRun, JobRunPlace


@contextmanager
def job_run(name: str):
    run = JobRun.objects.create(name=name, started_at=timezone.now())
    try:
        yield run
    except BaseException:
        run.status = JobRun.Status.FAILED
        run.error(traceback.format_exc(limit=20))
        _finish(run)
        raise
    else:
        run.status = JobRun.Status.FAILED if run.errors else JobRun.Status.OK
        _finish(run)


def _finish(run: JobRun) -> None:
    run.finished_at = timezone.now()
    run.save(update_fields=["finished_at", "counts", "errors", "status"])
    places = run.__dict__.get("_place_counts") or {}
    JobRunPlace.objects.bulk_create(
        [
            JobRunPlace(job_run=run, neighbourhood_id=place_id, counts=counts)
            for place_id, counts in places.items()
        ]
    )
