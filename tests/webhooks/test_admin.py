"""The admin of webhooks is scoped: a cadre sees the subscriptions and deliveries of the
API keys on their places, read-only; a superuser sees all."""

from django.urls import reverse

from core.services import api_key_create
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import publish, subscription_create

URL = "https://receiver.example.org/hook"


def _url(model, view, *args):
    return reverse(f"admin:webhooks_{model}_{view}", args=args)


def _setup(world, key_a, key_b):
    a = subscription_create(api_key=key_a, url=URL + "/a", events=["wellbeing.alert"])
    b = subscription_create(api_key=key_b, url=URL + "/b", events=["wellbeing.alert"])
    publish("wellbeing.alert", {"id": 1}, neighbourhood_id=world.a.neighbourhood.pk)
    publish("wellbeing.alert", {"id": 2}, neighbourhood_id=world.b.neighbourhood.pk)
    return a, b


def test_a_cadre_sees_only_the_subscriptions_of_their_places(world, key_a, key_b, dns, login):
    a, b = _setup(world, key_a, key_b)
    client = login(world.a.cadre)
    page = client.get(_url("webhooksubscription", "changelist"))
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [a]
    assert client.get(_url("webhooksubscription", "change", a.pk)).status_code == 200
    assert client.get(_url("webhooksubscription", "change", b.pk)).status_code == 404
    assert client.get(_url("webhooksubscription", "add")).status_code == 403
    deliveries = client.get(_url("webhookdelivery", "changelist"))
    assert [d.subscription_id for d in deliveries.context["cl"].result_list] == [a.pk]
    other = WebhookDelivery.objects.get(subscription=b)
    assert client.get(_url("webhookdelivery", "change", other.pk)).status_code == 404
    # read-only: a POST changes nothing
    client.post(_url("webhooksubscription", "change", a.pk), {"url": "https://x.example.org/"})
    a.refresh_from_db()
    assert a.url == URL + "/a"


def test_a_key_over_the_whole_subdistrict_is_not_a_neighbourhood_cadres(
    world, key_a, owner, dns, login
):
    wide, _full = api_key_create(
        name="街道平台", scopes=["webhooks:manage"], place=world.subdistrict, created_by=owner
    )
    wide_sub = subscription_create(api_key=wide, url=URL, events=["wellbeing.alert"])
    own = subscription_create(api_key=key_a, url=URL, events=["wellbeing.alert"])
    # the estate's key lies inside the neighbourhood
    estate_key, _full = api_key_create(
        name="小区门禁", scopes=["webhooks:manage"], place=world.a.estate, created_by=owner
    )
    estate_sub = subscription_create(api_key=estate_key, url=URL, events=["wellbeing.alert"])
    page = login(world.a.cadre).get(_url("webhooksubscription", "changelist"))
    assert set(page.context["cl"].result_list) == {own, estate_sub}
    assert wide_sub not in page.context["cl"].result_list


def test_a_superuser_sees_all_and_adds_through_the_service(
    world, key_a, key_b, dns, login, superuser
):
    a, b = _setup(world, key_a, key_b)
    client = login(superuser)
    page = client.get(_url("webhooksubscription", "changelist"))
    assert set(page.context["cl"].result_list) == {a, b}
    dns["inside.example.org"] = ["10.0.0.1"]
    refused = client.post(
        _url("webhooksubscription", "add"),
        {
            "api_key": key_a.pk,
            "url": "https://inside.example.org/",
            "events": ["wellbeing.alert"],
            "active": "on",
        },
    )
    assert refused.status_code == 200 and "url" in refused.context["adminform"].form.errors
    added = client.post(
        _url("webhooksubscription", "add"),
        {"api_key": key_a.pk, "url": URL + "/new", "events": ["wellbeing.alert"], "active": "on"},
    )
    assert added.status_code == 302, added.context["adminform"].form.errors
    new = WebhookSubscription.objects.get(url=URL + "/new")
    assert new.secret.startswith("whsec_") and new.events == ["wellbeing.alert"]
