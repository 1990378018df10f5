"""/api/v1/webhooks/: a key manages its own subscriptions; another key's is a 404."""

import pytest
from rest_framework.test import APIClient

from core.services import api_key_create
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import publish, subscription_create

SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions/"
DELIVERIES = "/api/v1/webhooks/deliveries/"
URL = "https://receiver.example.org/hook"


def client_for(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.full}")
    return client


def test_a_key_creates_lists_changes_and_deletes_its_subscription(world, key_a, dns):
    api = client_for(key_a)
    created = api.post(SUBSCRIPTIONS, {"url": URL, "events": ["wellbeing.alert"]}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["wellbeing.alert"]
    subscription = WebhookSubscription.objects.get(pk=body["id"])
    assert subscription.api_key == key_a and subscription.secret == body["secret"]

    listed = api.get(SUBSCRIPTIONS).json()["results"]
    assert [row["id"] for row in listed] == [subscription.pk]
    assert "secret" not in listed[0]
    detail = f"{SUBSCRIPTIONS}{subscription.pk}/"
    assert "secret" not in api.get(detail).json()

    changed = api.patch(detail, {"active": False}, format="json")
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert (
        api.put(detail, {"url": URL, "events": ["wellbeing.alert"]}, format="json").status_code
        == 405
    )
    assert api.delete(detail).status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_a_refused_url_is_a_400_naming_the_field(world, key_a, dns):
    dns["inside.example.org"] = ["10.0.0.1"]
    api = client_for(key_a)
    answer = api.post(
        SUBSCRIPTIONS,
        {"url": "https://inside.example.org/", "events": ["wellbeing.alert"]},
        format="json",
    )
    assert answer.status_code == 400
    assert "url" in answer.json()["error"]["fields"]
    unknown = api.post(SUBSCRIPTIONS, {"url": URL, "events": ["nope.nope"]}, format="json")
    assert unknown.status_code == 400 and "events" in unknown.json()["error"]["fields"]


def test_another_key_cannot_see_or_touch_a_subscription(world, key_a, key_b, dns):
    subscription = subscription_create(api_key=key_a, url=URL, events=["wellbeing.alert"])
    publish("wellbeing.alert", {"id": 1}, neighbourhood_id=world.a.neighbourhood.pk)
    delivery = WebhookDelivery.objects.get()
    other = client_for(key_b)
    detail = f"{SUBSCRIPTIONS}{subscription.pk}/"
    assert other.get(SUBSCRIPTIONS).json()["results"] == []
    assert other.get(detail).status_code == 404
    assert other.patch(detail, {"active": False}, format="json").status_code == 404
    assert other.delete(detail).status_code == 404
    assert other.get(DELIVERIES).json()["results"] == []
    assert other.get(f"{DELIVERIES}{delivery.pk}/").status_code == 404
    subscription.refresh_from_db()
    assert subscription.active

    own = client_for(key_a).get(DELIVERIES).json()["results"]
    assert [row["event_id"] for row in own] == [delivery.event_id]
    assert own[0]["status"] == "pending" and own[0]["response_log"] == []


def test_another_key_on_the_same_place_does_not_see_it_either(world, key_a, dns, owner):
    subscription = subscription_create(api_key=key_a, url=URL, events=["wellbeing.alert"])
    twin, full = api_key_create(
        name="同辖区另一系统",
        scopes=["webhooks:manage"],
        place=world.a.neighbourhood,
        created_by=owner,
    )
    twin.full = full
    assert client_for(twin).get(f"{SUBSCRIPTIONS}{subscription.pk}/").status_code == 404


def test_a_key_without_the_scope_is_refused(world, dns, owner):
    key, full = api_key_create(name="只读", scopes=["places:read"], place=world.a.neighbourhood)
    key.full = full
    answer = client_for(key).get(SUBSCRIPTIONS)
    assert answer.status_code == 403


@pytest.mark.parametrize("who", ["cadre", "superuser"])
def test_a_session_reads_but_does_not_write(world, key_a, key_b, dns, login, superuser, who):
    a = subscription_create(api_key=key_a, url=URL, events=["wellbeing.alert"])
    b = subscription_create(api_key=key_b, url=URL, events=["wellbeing.alert"])
    client = login(world.a.cadre if who == "cadre" else superuser)
    ids = {row["id"] for row in client.get(SUBSCRIPTIONS).json()["results"]}
    assert ids == ({a.pk} if who == "cadre" else {a.pk, b.pk})
    answer = client.post(
        SUBSCRIPTIONS, {"url": URL, "events": ["wellbeing.alert"]}, content_type="application/json"
    )
    assert answer.status_code == 403


@pytest.mark.parametrize("path", [SUBSCRIPTIONS, DELIVERIES])
def test_the_fast_list_path_answers_what_the_serializer_answers(
    world, key_a, dns, login, superuser, monkeypatch, path
):
    """What tests/core/test_values_lists.py checks for every list, with rows of ours."""
    from core.api import lists
    from core.api.lists import NoShape

    subscription_create(api_key=key_a, url=URL, events=["wellbeing.alert"])
    publish("wellbeing.alert", {"id": 1}, neighbourhood_id=world.a.neighbourhood.pk)
    WebhookDelivery.objects.update(
        response_log=[{"at": "2026-01-01T00:00:00+00:00", "attempt": 1, "status": 500}]
    )
    client = login(superuser)
    fast = client.get(path + "?page_size=200")
    assert fast.status_code == 200
    monkeypatch.setattr(lists, "values_shape", lambda _cls: NoShape("the ordinary path"))
    ordinary = client.get(path + "?page_size=200")
    assert fast.json() == ordinary.json() and fast.json()["results"]
