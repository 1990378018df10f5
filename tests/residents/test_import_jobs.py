"""Big registry imports run as a Celery task (eager in tests) with a progress page: the
confirm request returns at once, the task calls the same service as the web path, the
page refreshes itself and ends on the done page; another cadre's job is a 404."""

import io
import json

import pytest
from django.core.files.storage import default_storage
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from core.models import AuditEvent, TableJob
from core.tables import jobs
from residents import events, tasks
from residents.models import Resident
from residents.registry_io import COLUMNS, JOB_KIND, upload_load, upload_store
from tests.factories import HouseholdFactory, ResidentFactory, make_id_number

pytestmark = pytest.mark.django_db

HEADERS = [column.header for column in COLUMNS]


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


def family_file(side, n=3, start=9100):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    relations = ["户主", "配偶", "子女", "子女", "子女"]
    ids = [make_id_number(start + index) for index in range(n)]
    for index in range(n):
        row = {
            "小区": side.estate.name,
            "楼栋": side.building.number,
            "室号": side.dwelling.room,
            "姓名": f"任{'一二三四五'[index]}",
            "证件号码": ids[index],
            "与户主关系": relations[index],
            "居住状态": "户籍",
        }
        sheet.append([row.get(header) for header in HEADERS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), ids


def job_token(response) -> str:
    assert response.status_code == 302, response.content.decode()[:500]
    assert "/import/jobs/" in response["Location"]
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_a_big_import_runs_as_a_task_and_ends_on_the_done_page(
    world, login, django_capture_on_commit_callbacks
):
    data, ids = family_file(world.a)
    token = upload_store(user=world.a.cadre, filename="大文件.xlsx", data=data)
    client = login(world.a.cadre)
    assert client.get(reverse("registry:import_preview", args=[token])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("registry:import_confirm", args=[token]))
    assert len(callbacks) == 1  # the task is queued once the job row is committed
    job = TableJob.objects.get()
    assert job_token(response) == str(job.token)
    assert (job.kind, job.user, job.status) == (JOB_KIND, world.a.cadre, TableJob.Status.DONE)
    assert job.neighbourhood_id == world.a.neighbourhood.pk
    assert (job.rows_done, job.rows_total, job.result["created"]) == (3, 3, 3)
    assert job.started_at and job.finished_at and job.upload_token == ""
    # the same service as the web path: the residents, their history, the audit event
    assert Resident.objects.filter(neighbourhood=world.a.neighbourhood).count() == 3
    assert AuditEvent.objects.filter(action=events.REGISTRY_IMPORTED).count() == 1
    assert upload_load(user=world.a.cadre, token=token) is None
    # no ID number anywhere in the job
    dumped = json.dumps(model_to_dict(job), default=str)
    assert not any(number in dumped for number in ids)

    page = client.get(reverse("registry:import_job", args=[job.token]))
    assert page.status_code == 302 and page["Location"] == reverse("registry:import_done")
    done = client.get(page["Location"]).content.decode()
    assert "任一" in done and "任三" in done


def test_the_confirm_request_returns_at_once_and_the_page_refreshes_itself(
    world, login, django_capture_on_commit_callbacks
):
    data, _ids = family_file(world.a)
    token = upload_store(user=world.a.cadre, filename="f.xlsx", data=data)
    client = login(world.a.cadre)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("registry:import_confirm", args=[token]))
        again = client.post(reverse("registry:import_confirm", args=[token]))
    assert job_token(response) == job_token(again)  # pressed twice: one job
    assert len(callbacks) == 1 and TableJob.objects.count() == 1
    assert Resident.objects.count() == 0  # nothing saved by the request itself
    job = TableJob.objects.get()
    page = client.get(reverse("registry:import_job", args=[job.token]))
    html = page.content.decode()
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="2">' in html
    assert 'data-import-job="queued"' in html

    # a worker picks it up and reports progress while its transaction is open
    running = jobs.job_start(job.pk)
    jobs.job_progress(running, done=1, total=4)
    html = client.get(reverse("registry:import_job", args=[job.token])).content.decode()
    assert 'data-import-job="running"' in html and 'value="25"' in html
    running.status = TableJob.Status.QUEUED  # let the queued task claim it for real
    running.save(update_fields=["status"])

    callbacks[0]()
    assert Resident.objects.count() == 3
    page = client.get(reverse("registry:import_job", args=[job.token]))
    assert page.status_code == 302


def test_another_cadres_job_is_a_404(world, login, django_capture_on_commit_callbacks):
    data, _ids = family_file(world.a)
    token = upload_store(user=world.a.cadre, filename="f.xlsx", data=data)
    with django_capture_on_commit_callbacks(execute=False):
        response = login(world.a.cadre).post(reverse("registry:import_confirm", args=[token]))
    job_url = response["Location"]
    client = login(world.b.cadre)
    assert client.get(job_url).status_code == 404
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert client.get(reverse("registry:import_job", args=[bad])).status_code == 404
    assert login(world.a.cadre).get(job_url).status_code == 200


def test_a_job_that_finds_bad_rows_saves_nothing_and_leads_back_to_the_problems(
    world, login, django_capture_on_commit_callbacks
):
    data, ids = family_file(world.a)
    token = upload_store(user=world.a.cadre, filename="f.xlsx", data=data)
    client = login(world.a.cadre)
    assert client.get(reverse("registry:import_preview", args=[token])).status_code == 200
    # meanwhile one of these people is registered in the other neighbourhood
    ResidentFactory(household=HouseholdFactory(dwelling=world.b.dwelling), id_number=ids[1])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("registry:import_confirm", args=[token]))
    job = TableJob.objects.get(token=job_token(response))
    assert job.status == TableJob.Status.FAILED and "1" in job.error
    assert Resident.objects.filter(neighbourhood=world.a.neighbourhood).count() == 0
    page = client.get(reverse("registry:import_job", args=[job.token])).content.decode()
    assert "data-import-job-failed" in page and 'http-equiv="refresh"' not in page
    preview_url = reverse("registry:import_preview", args=[token])
    assert preview_url in page
    # the preview shows what the job found (kept with the upload, not parsed again)
    preview = client.get(preview_url).content.decode()
    assert "data-import-errors" in preview


def test_the_task_runs_a_job_once_and_ends_it_whatever_happens(
    world, login, django_capture_on_commit_callbacks, monkeypatch
):
    data, _ids = family_file(world.a)
    token = upload_store(user=world.a.cadre, filename="f.xlsx", data=data)
    with django_capture_on_commit_callbacks(execute=True):
        login(world.a.cadre).post(reverse("registry:import_confirm", args=[token]))
    job = TableJob.objects.get()
    tasks.import_registry_job(job.pk)  # a second delivery
    assert AuditEvent.objects.filter(action=events.REGISTRY_IMPORTED).count() == 1
    tasks.import_registry_job(987654)  # an unknown job: nothing happens

    # an unexpected error fails the job (nothing saved) instead of leaving it running
    from residents.registry_io import importing

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(importing, "save_import", broken)
    data, _ids = family_file(world.a, start=9200)
    token = upload_store(user=world.a.cadre, filename="g.xlsx", data=data)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.a.cadre).post(reverse("registry:import_confirm", args=[token]))
    failed = TableJob.objects.get(token=job_token(response))
    assert failed.status == TableJob.Status.FAILED and failed.error
    assert failed.upload_token == token  # the file is kept: the user may try again


def test_small_files_are_still_saved_by_the_request(world, login, settings):
    settings.LINLI_IMPORT_BACKGROUND_ROWS = 5000
    data, _ids = family_file(world.a)
    token = upload_store(user=world.a.cadre, filename="f.xlsx", data=data)
    response = login(world.a.cadre).post(reverse("registry:import_confirm", args=[token]))
    assert response.status_code == 302 and response["Location"] == reverse("registry:import_done")
    assert Resident.objects.count() == 3 and not TableJob.objects.exists()


def test_job_messages_are_in_the_language_of_who_started_it(
    world, login, django_capture_on_commit_callbacks
):
    world.a.cadre.language = "en"
    world.a.cadre.save(update_fields=["language"])
    data, ids = family_file(world.a)
    token = upload_store(user=world.a.cadre, filename="f.xlsx", data=data)
    ResidentFactory(household=HouseholdFactory(dwelling=world.b.dwelling), id_number=ids[0])
    with translation.override("zh-hans"), django_capture_on_commit_callbacks(execute=True):
        login(world.a.cadre).post(reverse("registry:import_confirm", args=[token]))
    assert TableJob.objects.get().error == "1 row needs fixing; nothing was saved."
