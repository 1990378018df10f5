"""A big import whose worker died mid-job does not stay "running" for ever: once it has
run longer than LINLI_IMPORT_JOB_STALE_MINUTES, its progress page and a redelivery of its
task fail it as interrupted (nothing was saved: the save is one transaction), the page
stops refreshing and the cadre can upload again."""

import datetime

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from core.models import TableJob
from core.tables import jobs
from residents import tasks
from residents.models import Resident
from residents.registry_io import upload_store
from tests.residents.test_import_jobs import family_file, job_token

pytestmark = pytest.mark.django_db

Status = TableJob.Status


@pytest.fixture(autouse=True)
def no_pending_uploads():
    yield
    if default_storage.exists("imports"):
        for user_dir in default_storage.listdir("imports")[0]:
            for name in default_storage.listdir(f"imports/{user_dir}")[1]:
                default_storage.delete(f"imports/{user_dir}/{name}")


@pytest.fixture(autouse=True)
def low_threshold(settings):
    settings.LINLI_IMPORT_BACKGROUND_ROWS = 2


@pytest.fixture
def queued(world, login, django_capture_on_commit_callbacks):
    """A cadre's client, the upload token and a job queued but not run (no worker yet)."""
    data, _ids = family_file(world.a, start=9300)
    token = upload_store(user=world.a.cadre, filename="大文件.xlsx", data=data)
    client = login(world.a.cadre)
    with django_capture_on_commit_callbacks(execute=False):
        job_token(client.post(reverse("registry:import_confirm", args=[token])))
    return client, token, TableJob.objects.get()


def started(job, minutes_ago):
    """The job as a worker claimed it ``minutes_ago`` (and then, maybe, died)."""
    claimed = jobs.job_start(job.pk)
    assert claimed is not None
    jobs.job_progress(claimed, done=1, total=3)
    TableJob.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - datetime.timedelta(minutes=minutes_ago)
    )
    return claimed


def page(client, job):
    return client.get(reverse("registry:import_job", args=[job.token]))


def test_the_progress_page_fails_a_job_whose_worker_died(queued):
    client, _token, job = queued
    started(job, minutes_ago=31)
    response = page(client, job)
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-import-job-failed" in html
    assert jobs.interrupted_message() in html
    assert 'http-equiv="refresh"' not in html  # it stops refreshing
    assert reverse("registry:import") in html  # "upload a file again"
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.finished_at is not None
    assert job.error == jobs.interrupted_message() and job.upload_token == ""
    assert Resident.objects.count() == 0


def test_a_job_running_for_less_than_the_limit_keeps_running(queued):
    client, _token, job = queued
    started(job, minutes_ago=29)
    html = page(client, job).content.decode()
    assert 'data-import-job="running"' in html and 'http-equiv="refresh"' in html
    job.refresh_from_db()
    assert job.status == Status.RUNNING


def test_the_limit_is_a_setting(queued, settings):
    client, _token, job = queued
    started(job, minutes_ago=6)
    assert 'data-import-job="running"' in page(client, job).content.decode()
    settings.LINLI_IMPORT_JOB_STALE_MINUTES = 5
    assert "data-import-job-failed" in page(client, job).content.decode()


def test_a_redelivered_task_fails_the_stale_job_and_the_cadre_can_upload_again(
    queued, django_capture_on_commit_callbacks
):
    client, token, job = queued
    started(job, minutes_ago=45)
    tasks.import_registry_job(job.pk)  # acks_late: the task comes again
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error == jobs.interrupted_message()
    assert Resident.objects.count() == 0
    # a second redelivery changes nothing
    tasks.import_registry_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED

    # the same file again: a new job, which runs
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("registry:import_confirm", args=[token]))
    new = TableJob.objects.get(token=job_token(again))
    assert new.pk != job.pk and new.status == Status.DONE
    assert Resident.objects.count() == 3


def test_a_redelivery_of_a_fresh_running_job_does_nothing(queued):
    _client, _token, job = queued
    started(job, minutes_ago=2)
    tasks.import_registry_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.error == ""


def test_a_slow_worker_whose_job_was_failed_meanwhile_saves_nothing(queued, monkeypatch):
    """The worker was alive after all: the job was failed as interrupted while it checked
    the rows, so it must not save them (the page said "nothing was saved")."""
    _client, _token, job = queued
    real_progress = jobs.job_progress

    def page_seen_meanwhile(running, **kwargs):
        real_progress(running, **kwargs)
        TableJob.objects.filter(pk=running.pk).update(
            started_at=timezone.now() - datetime.timedelta(hours=2)
        )
        jobs.job_fail_if_stale(TableJob.objects.get(pk=running.pk))

    monkeypatch.setattr(jobs, "job_progress", page_seen_meanwhile)
    tasks.import_registry_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error == jobs.interrupted_message()
    assert Resident.objects.count() == 0


def test_a_finished_job_is_never_failed_as_interrupted(queued):
    client, _token, job = queued
    started(job, minutes_ago=1)
    running = TableJob.objects.get(pk=job.pk)
    jobs.job_finish(running, result={"created": 0}, rows=3)
    TableJob.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - datetime.timedelta(hours=3)
    )
    assert page(client, job).status_code == 302  # the done page
    job.refresh_from_db()
    assert job.status == Status.DONE
