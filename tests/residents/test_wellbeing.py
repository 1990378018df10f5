"""Wellbeing: door-access events through the API, the daily alert task, the cadre's list."""

import datetime
import itertools

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from buildings.models import add_years
from core.models import AuditEvent
from residents.models import AccessEvent, WellbeingAlert
from residents.services import (
    raise_wellbeing_alerts,
    resident_mark_moved_out,
    wellbeing_alert_handle,
)
from residents.tasks import WELLBEING_TASK as TASK_NAME
from residents.tasks import raise_wellbeing_alerts as raise_task
from tests.factories import (
    DwellingFactory,
    HouseholdFactory,
    ResidentFactory,
    UserFactory,
    make_id_number,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/access-events/"
_seq = itertools.count(300)


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()


def elder(dwelling, age=85, **kwargs):
    birth = add_years(timezone.localdate(), -age) - datetime.timedelta(days=10)
    return ResidentFactory(
        household=HouseholdFactory(dwelling=dwelling),
        id_number=make_id_number(next(_seq), birth=birth),
        **kwargs,
    )


def event(resident=None, dwelling=None, *, at):
    subject = resident or dwelling
    return AccessEvent.objects.create(
        resident=resident,
        dwelling=dwelling,
        neighbourhood_id=subject.neighbourhood_id,
        occurred_at=at,
    )


def hours_ago(now, hours):
    return now - datetime.timedelta(hours=hours)


@pytest.fixture
def key(world, api_key_headers):
    _key, headers = api_key_headers(world.a.neighbourhood, scopes=("access:write",))
    return headers


# --- POST /api/v1/access-events/ ------------------------------------------------------------


def test_one_event_for_a_resident(world, client, key):
    resident = elder(world.a.dwelling)
    at = timezone.now() - datetime.timedelta(minutes=3)
    response = client.post(
        URL,
        {
            "resident_id": resident.pk,
            "occurred_at": at.isoformat(),
            "device": "东门",
            "source": "门禁",
        },
        content_type="application/json",
        headers=key,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 1
    stored = AccessEvent.objects.get()
    assert body["events"][0]["id"] == stored.pk
    assert stored.resident == resident
    assert stored.neighbourhood == world.a.neighbourhood
    assert stored.device == "东门" and stored.source == "门禁"
    assert stored.occurred_at == at


def test_a_batch_for_residents_and_dwellings(world, client, key):
    resident = elder(world.a.dwelling)
    now = timezone.now()
    batch = [
        {"resident_id": resident.pk, "occurred_at": hours_ago(now, 1).isoformat()},
        {"dwelling_id": world.a.dwelling.pk, "occurred_at": hours_ago(now, 2).isoformat()},
        {
            "resident_id": resident.pk,
            "dwelling_id": world.a.dwelling.pk,
            "occurred_at": hours_ago(now, 3).isoformat(),
        },
    ]
    response = client.post(URL, batch, content_type="application/json", headers=key)
    assert response.status_code == 201, response.content
    assert response.json()["count"] == 3
    assert AccessEvent.objects.filter(neighbourhood=world.a.neighbourhood).count() == 3


def test_batch_query_count_does_not_grow(world, client, key, django_assert_max_num_queries):
    residents = [elder(world.a.dwelling) for _ in range(5)]
    now = timezone.now().isoformat()
    with django_assert_max_num_queries(12) as few:
        client.post(
            URL,
            [{"resident_id": residents[0].pk, "occurred_at": now}],
            content_type="application/json",
            headers=key,
        )
    many = [{"resident_id": r.pk, "occurred_at": now} for r in residents] * 40
    many += [{"dwelling_id": world.a.dwelling.pk, "occurred_at": now}] * 40
    with django_assert_max_num_queries(len(few.captured_queries) + 1):
        response = client.post(URL, many, content_type="application/json", headers=key)
    assert response.json()["count"] == 240


def test_outside_the_jurisdiction_is_404_and_nothing_is_stored(world, client, key):
    mine = elder(world.a.dwelling)
    theirs = elder(world.b.dwelling)
    now = timezone.now().isoformat()
    single = client.post(
        URL,
        {"resident_id": theirs.pk, "occurred_at": now},
        content_type="application/json",
        headers=key,
    )
    assert single.status_code == 404
    assert single.json()["error"]["code"] == "not_found"
    assert single.json()["error"]["fields"] == {"resident_id": [single.json()["error"]["message"]]}
    batch = [
        {"resident_id": mine.pk, "occurred_at": now},
        {"resident_id": theirs.pk, "occurred_at": now},
        {"dwelling_id": world.b.dwelling.pk, "occurred_at": now},
        {"resident_id": 999999, "occurred_at": now},
    ]
    response = client.post(URL, batch, content_type="application/json", headers=key)
    assert response.status_code == 404
    assert set(response.json()["error"]["fields"]) == {
        "1.resident_id",
        "2.dwelling_id",
        "3.resident_id",
    }
    assert AccessEvent.objects.count() == 0


def test_bad_events_are_refused(world, client, key):
    resident = elder(world.a.dwelling)
    future = (timezone.now() + datetime.timedelta(minutes=10)).isoformat()
    soon = (timezone.now() + datetime.timedelta(minutes=2)).isoformat()

    def post(body):
        return client.post(URL, body, content_type="application/json", headers=key)

    response = post({"resident_id": resident.pk, "occurred_at": future})
    assert response.status_code == 400
    assert "occurred_at" in response.json()["error"]["fields"]
    assert post({"resident_id": resident.pk, "occurred_at": soon}).status_code == 201

    response = post([{"resident_id": resident.pk, "occurred_at": soon}, {"occurred_at": soon}])
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"1.resident_id"}

    response = post([{"resident_id": resident.pk, "occurred_at": "yesterday"}])
    assert set(response.json()["error"]["fields"]) == {"0.occurred_at"}

    other = elder(world.a.dwelling)
    elsewhere = DwellingFactory(building=world.a.building, room="909")
    response = post({"resident_id": other.pk, "dwelling_id": elsewhere.pk, "occurred_at": soon})
    assert response.status_code == 400
    assert "dwelling_id" in response.json()["error"]["fields"]

    assert post([]).status_code == 400
    too_many = [{"resident_id": resident.pk, "occurred_at": soon}] * 501
    response = post(too_many)
    assert response.status_code == 400
    assert AccessEvent.objects.count() == 1


def test_access_events_need_a_key_with_access_write(world, client, api_key_headers, login):
    resident = elder(world.a.dwelling)
    body = {"resident_id": resident.pk, "occurred_at": timezone.now().isoformat()}
    assert client.post(URL, body, content_type="application/json").status_code == 401
    _key, read_only = api_key_headers(world.a.neighbourhood, scopes=("residents:read",))
    response = client.post(URL, body, content_type="application/json", headers=read_only)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    login(world.a.cadre)
    assert client.post(URL, body, content_type="application/json").status_code == 403
    assert AccessEvent.objects.count() == 0


def test_access_events_accept_post_only(client, key):
    assert client.get(URL, headers=key).status_code == 405


# --- the daily task -------------------------------------------------------------------------


def test_alert_once_per_gap_and_again_after_a_new_gap(world):
    now = timezone.now()
    grandma = elder(world.a.dwelling, 86)
    event(grandma, at=hours_ago(now, 50))

    assert raise_wellbeing_alerts(now=now) == 1
    alert = WellbeingAlert.objects.get()
    assert alert.resident == grandma
    assert alert.neighbourhood == world.a.neighbourhood
    assert alert.last_seen_at == hours_ago(now, 50)

    # the next days: same gap, nothing new
    assert raise_wellbeing_alerts(now=now + datetime.timedelta(days=1)) == 0
    assert raise_wellbeing_alerts(now=now + datetime.timedelta(days=2)) == 0

    # she comes home; quiet again for two days: a new gap, a new alert
    event(grandma, at=now + datetime.timedelta(days=2, hours=1))
    assert raise_wellbeing_alerts(now=now + datetime.timedelta(days=3)) == 0
    assert raise_wellbeing_alerts(now=now + datetime.timedelta(days=5)) == 1
    assert WellbeingAlert.objects.filter(resident=grandma).count() == 2


def test_who_is_alerted(world):
    now = timezone.now()
    quiet = elder(world.a.dwelling, 81, name="安静")
    recent = elder(world.a.dwelling, 90, name="刚出门")
    young = elder(world.a.dwelling, 70, name="七十")
    never = elder(world.a.dwelling, 95, name="没有门禁")
    gone = elder(world.a.dwelling, 88, name="搬走了")
    for resident in (quiet, young, gone):
        event(resident, at=hours_ago(now, 72))
    event(recent, at=hours_ago(now, 72))
    event(recent, at=hours_ago(now, 5))
    resident_mark_moved_out(resident=gone)

    raise_wellbeing_alerts(now=now)
    alerted = set(WellbeingAlert.objects.values_list("resident__name", flat=True))
    assert alerted == {"安静"}
    assert never.wellbeing_alerts.count() == 0


def test_an_event_on_the_dwelling_counts(world):
    now = timezone.now()
    grandpa = elder(world.a.dwelling, 84)
    event(grandpa, at=hours_ago(now, 100))
    event(dwelling=world.a.dwelling, at=hours_ago(now, 3))
    assert raise_wellbeing_alerts(now=now) == 0
    # only dwelling events, and old: alert, named by the dwelling's last event
    assert raise_wellbeing_alerts(now=now + datetime.timedelta(hours=60)) == 1
    assert WellbeingAlert.objects.get().last_seen_at == hours_ago(now, 3)


@override_settings(LINLI_WELLBEING_MIN_AGE=70, LINLI_WELLBEING_GAP_HOURS=24)
def test_age_and_gap_are_settings(world):
    now = timezone.now()
    seventy = elder(world.a.dwelling, 72)
    event(seventy, at=hours_ago(now, 30))
    assert raise_wellbeing_alerts(now=now) == 1


def test_the_task_is_set_based(world, django_assert_max_num_queries):
    now = timezone.now()
    with django_assert_max_num_queries(3):
        raise_wellbeing_alerts(now=now)  # nothing to raise: no notice, no webhook
    counts = []
    for size in (3, 30):
        for _ in range(size):
            resident = elder(world.a.dwelling)
            event(resident, at=hours_ago(now, 60))
        with CaptureQueriesContext(connection) as run:
            assert raise_wellbeing_alerts(now=now) == size
        counts.append(len(run.captured_queries))
    # the alerts, the cadres' notices and the webhooks cost the same for 3 alerts or 30
    assert counts[1] <= counts[0], counts


def test_the_celery_task_and_its_schedule(world):
    resident = elder(world.a.dwelling)
    event(resident, at=hours_ago(timezone.now(), 49))
    assert raise_task.name == TASK_NAME
    assert raise_task.delay().get() == 1  # eager in tests
    entry = settings.CELERY_BEAT_SCHEDULE["wellbeing-alerts"]
    assert entry["task"] == TASK_NAME
    from config.celery import app

    app.loader.import_default_modules()
    assert TASK_NAME in app.tasks


# --- the cadre's list -----------------------------------------------------------------------


@pytest.fixture
def alerts(world):
    now = timezone.now()
    a = elder(world.a.dwelling, name="甲老人")
    b = elder(world.b.dwelling, name="乙老人")
    event(a, at=hours_ago(now, 60))
    event(b, at=hours_ago(now, 60))
    raise_wellbeing_alerts(now=now)
    return {
        "a": WellbeingAlert.objects.get(resident=a),
        "b": WellbeingAlert.objects.get(resident=b),
    }


def test_cadre_sees_own_alerts_only(world, alerts, login):
    client = login(world.a.cadre)
    response = client.get(reverse("registry:alerts"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "甲老人" in body and "乙老人" not in body
    assert alerts["a"].resident.decrypt_phone() not in body
    assert client.get(reverse("registry:alert_detail", args=[alerts["a"].pk])).status_code == 200


def test_other_neighbourhoods_alerts_are_404(world, alerts, login):
    client = login(world.b.cadre)
    theirs = alerts["a"]
    assert client.get(reverse("registry:alert_detail", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("registry:alert_handle", args=[theirs.pk]), {"note": "看过了"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.handled_at is None


def test_handled_flow(world, alerts, login):
    client = login(world.a.cadre)
    alert = alerts["a"]
    url = reverse("registry:alert_handle", args=[alert.pk])
    assert client.post(url, {"note": "  "}).status_code == 400
    assert client.get(url).status_code == 405

    response = client.post(url, {"note": "电话联系，老人住院了"}, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.handled_by == world.a.cadre
    assert alert.handled_at is not None
    assert alert.note == "电话联系，老人住院了"
    audit = AuditEvent.objects.get(action="wellbeing_alert_handled")
    assert audit.actor == world.a.cadre
    assert audit.target_id == alert.pk
    assert audit.neighbourhood_id == world.a.neighbourhood.pk
    assert audit.ip_address == "10.1.2.3"

    open_list = client.get(reverse("registry:alerts"))
    assert list(open_list.context["page_obj"].object_list) == []
    handled = client.get(reverse("registry:alerts"), {"status": "handled"}).content.decode()
    assert "甲老人" in handled and "电话联系，老人住院了" in handled

    # handling twice is refused
    assert client.post(url, {"note": "again"}).status_code == 400
    alert.refresh_from_db()
    assert alert.note == "电话联系，老人住院了"


def test_alert_list_query_count_is_fixed(world, login, django_assert_max_num_queries):
    now = timezone.now()
    first = elder(world.a.dwelling)
    event(first, at=hours_ago(now, 60))
    raise_wellbeing_alerts(now=now)
    client = login(world.a.cadre)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("registry:alerts"), {"status": "all"})
    for _ in range(12):
        event(elder(world.a.dwelling), at=hours_ago(now, 60))
    raise_wellbeing_alerts(now=now)
    wellbeing_alert_handle(alert=WellbeingAlert.objects.first(), by=world.a.cadre, note="ok")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("registry:alerts"), {"status": "all"})
    assert len(response.context["page_obj"].object_list) == 13


def test_alerts_need_a_cadre(world, login, client):
    assert client.get(reverse("registry:alerts")).status_code == 302
    login(UserFactory())
    assert client.get(reverse("registry:alerts")).status_code == 403
