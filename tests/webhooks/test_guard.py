"""The address guard: private, loopback and link-local targets are refused when a
subscription is saved, at delivery time, and behind a redirect; the allow-list admits."""

import pytest
from django.core.exceptions import ValidationError

from webhooks import transport
from webhooks.guard import UnsafeTarget, check_url, is_forbidden_address
from webhooks.models import WebhookDelivery
from webhooks.services import delivery_attempt, publish, subscription_create

FORBIDDEN = [
    "127.0.0.1",
    "10.1.2.3",
    "169.254.169.254",
    "192.168.1.1",
    "172.16.0.1",
    "::1",
    "fe80::1",
    "0.0.0.0",  # noqa: S104 - a target the guard must refuse
    "224.0.0.1",
    "100.64.0.1",
    "::ffff:10.0.0.1",
    "240.0.0.1",
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_forbidden_addresses(address):
    assert is_forbidden_address(address)


def test_public_addresses_pass():
    assert not is_forbidden_address("93.184.216.34")
    assert not is_forbidden_address("2606:2800:220:1:248:1893:25c8:1946")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.8", "169.254.169.254"])
def test_a_host_resolving_to_a_private_address_is_refused_on_save(world, key_a, dns, address):
    dns["inside.example.org"] = [address]
    with pytest.raises(ValidationError) as caught:
        subscription_create(
            api_key=key_a, url="https://inside.example.org/hook", events=["wellbeing.alert"]
        )
    assert "url" in caught.value.message_dict
    assert address in caught.value.message_dict["url"][0]


def test_one_private_address_among_public_ones_is_enough_to_refuse(dns):
    dns["mixed.example.org"] = ["93.184.216.34", "10.0.0.1"]
    with pytest.raises(UnsafeTarget):
        check_url("https://mixed.example.org/")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://receiver.example.org/",
        "https://user:pw@receiver.example.org/",
        "https:///nohost",
        "http://[::1",
        "https://unknown.example.org/",
        "http://127.0.0.1:8000/",
        "http://0x7f000001/",
    ],
)
def test_bad_or_unresolvable_urls_are_refused(dns, url):
    with pytest.raises(UnsafeTarget):
        check_url(url)


def test_the_allow_list_admits_hosts_and_networks(dns, settings):
    dns["erp.district.local"] = ["10.20.0.5"]
    dns["other.district.local"] = ["10.30.0.5"]
    settings.LINLI_WEBHOOK_ALLOWED_HOSTS = ["erp.district.local"]
    assert check_url("https://erp.district.local/x?y=1").path == "/x?y=1"
    with pytest.raises(UnsafeTarget):
        check_url("https://other.district.local/")
    settings.LINLI_WEBHOOK_ALLOWED_HOSTS = ["10.30.0.0/16"]
    assert check_url("https://other.district.local/").addresses == ("10.30.0.5",)
    with pytest.raises(UnsafeTarget):
        check_url("https://erp.district.local/")


def test_dns_that_changes_after_saving_is_refused_at_delivery(world, key_a, dns, monkeypatch):
    subscription_create(
        api_key=key_a, url="https://receiver.example.org/hook", events=["wellbeing.alert"]
    )
    dns["receiver.example.org"] = ["169.254.169.254"]  # rebound
    calls = []
    monkeypatch.setattr(transport, "request_once", lambda *a: calls.append(a) or (200, ""))
    (delivery,) = publish("wellbeing.alert", {"id": 1}, neighbourhood_id=world.a.neighbourhood.pk)
    assert delivery_attempt(delivery.pk) == WebhookDelivery.PENDING  # failed, to be retried
    delivery.refresh_from_db()
    assert calls == []
    assert "169.254.169.254" in delivery.response_log[0]["error"]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.9.9.9", "169.254.169.254"])
def test_a_redirect_to_a_private_address_is_refused(dns, monkeypatch, address):
    dns["evil.example.org"] = ["93.184.216.40"]
    dns["internal.example.org"] = [address]
    calls = []

    def fake_request(target, body, headers, timeout):
        calls.append(target)
        return 302, "http://internal.example.org/admin"

    monkeypatch.setattr(transport, "request_once", fake_request)
    with pytest.raises(transport.DeliveryError) as caught:
        transport.post("https://evil.example.org/hook", b"{}", {})
    assert address in str(caught.value)
    assert [t.host for t in calls] == ["evil.example.org"]  # the private hop never reached


def test_redirects_are_followed_at_most_three_times(dns, monkeypatch):
    calls = []

    def fake_request(target, body, headers, timeout):
        calls.append(target.path)
        if len(calls) <= 2:
            return 307, f"/step{len(calls)}"
        return 200, ""

    monkeypatch.setattr(transport, "request_once", fake_request)
    answer = transport.post("https://receiver.example.org/hook", b"{}", {})
    assert answer.status == 200 and answer.url == "https://receiver.example.org/step2"
    assert calls == ["/hook", "/step1", "/step2"]

    monkeypatch.setattr(transport, "request_once", lambda *a: (308, "/again"))
    with pytest.raises(transport.DeliveryError):
        transport.post("https://receiver.example.org/hook", b"{}", {})
