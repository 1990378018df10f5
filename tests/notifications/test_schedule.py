"""The daily-job hook (notifications.schedule): a registered job runs once a day, from its
hour, at once when it never ran, and one job's failure does not stop the others."""

import datetime

import pytest
from django.utils import timezone

from notifications import schedule
from notifications.jobs import job_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(monkeypatch):
    monkeypatch.setattr(schedule, "_JOBS", {})
    calls = []

    def make(name, *, fails=False):
        def run():
            with job_run(name):
                calls.append(name)
                if fails:
                    raise RuntimeError("broken")

        return schedule.register_daily_job(name, run, at=datetime.time(9, 0))

    return make, calls


def test_a_job_runs_once_a_day_from_its_hour(jobs):
    make, calls = jobs
    job = make("polls.open_and_close")
    tz = timezone.get_current_timezone()
    first = datetime.datetime(2027, 3, 1, 6, 0, tzinfo=tz)
    assert schedule.run_due_jobs(now=first) == ["polls.open_and_close"]  # never ran
    assert schedule.run_due_jobs(now=timezone.now()) == []  # ran today
    assert calls == ["polls.open_and_close"]
    tomorrow = timezone.localtime() + datetime.timedelta(days=1)
    assert not schedule.is_due(job, now=tomorrow.replace(hour=8, minute=59))
    assert schedule.is_due(job, now=tomorrow.replace(hour=9, minute=0))


def test_a_failing_job_is_recorded_and_the_others_still_run(jobs):
    from notifications.models import JobRun

    make, calls = jobs
    make("issues.sla_notices", fails=True)
    make("volunteers.activity_reminders")
    assert schedule.run_due_jobs() == ["issues.sla_notices", "volunteers.activity_reminders"]
    assert calls == ["issues.sla_notices", "volunteers.activity_reminders"]
    failed = JobRun.objects.get(name="issues.sla_notices")
    assert failed.status == JobRun.Status.FAILED and "broken" in failed.errors
    assert schedule.run_due_jobs() == []  # a failed run counts as today's run
