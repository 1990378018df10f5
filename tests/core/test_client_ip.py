"""The client's address behind LINLI_TRUSTED_PROXY_COUNT proxies (core.net, finding 8)."""

from __future__ import annotations

import pytest
from axes.helpers import get_client_ip_address
from django.conf import settings
from django.test import RequestFactory, override_settings

from core.audit import client_ip as audit_client_ip
from core.net import client_ip

rf = RequestFactory()


def _request(remote="10.0.0.1", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return rf.get("/", **extra)


def test_without_trusted_proxies_x_forwarded_for_is_ignored():
    assert settings.LINLI_TRUSTED_PROXY_COUNT == 0
    assert client_ip(_request(forwarded="198.51.100.7")) == "10.0.0.1"
    assert client_ip(None) is None


@override_settings(LINLI_TRUSTED_PROXY_COUNT=1)
def test_one_proxy_the_entry_it_appended_is_the_client():
    assert client_ip(_request(forwarded="198.51.100.7")) == "198.51.100.7"
    # what the client wrote itself (left) is never believed
    assert client_ip(_request(forwarded="1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    assert client_ip(_request()) == "10.0.0.1"  # no header: the peer


@override_settings(LINLI_TRUSTED_PROXY_COUNT=2)
def test_two_proxies_and_short_or_odd_headers():
    assert client_ip(_request(forwarded="6.6.6.6, 198.51.100.7, 10.0.0.2")) == "198.51.100.7"
    assert client_ip(_request(forwarded="198.51.100.7")) == "198.51.100.7"
    assert client_ip(_request(forwarded="203.0.113.9:5123, 10.0.0.2")) == "203.0.113.9"
    assert client_ip(_request(forwarded="[2001:db8::1]:443, 10.0.0.2")) == "2001:db8::1"
    assert client_ip(_request(forwarded="not-an-address, 10.0.0.2")) == "10.0.0.1"


def test_core_audit_keeps_client_ip_importable():
    assert audit_client_ip is client_ip


@override_settings(LINLI_TRUSTED_PROXY_COUNT=1)
def test_axes_sees_the_same_address():
    assert settings.AXES_CLIENT_IP_CALLABLE == "core.net.axes_client_ip"
    request = _request(forwarded="1.2.3.4, 198.51.100.7")
    assert get_client_ip_address(request) == "198.51.100.7"


def test_drf_throttles_use_the_same_count(production_settings_module):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.LINLI_TRUSTED_PROXY_COUNT
    prod = production_settings_module
    assert prod.REST_FRAMEWORK["NUM_PROXIES"] == prod.LINLI_TRUSTED_PROXY_COUNT


def test_the_count_is_read_from_the_environment(monkeypatch):
    import importlib
    import sys

    monkeypatch.setenv("LINLI_TRUSTED_PROXY_COUNT", "1")
    monkeypatch.delitem(sys.modules, "config.settings.base", raising=False)
    try:
        base = importlib.import_module("config.settings.base")
        assert base.LINLI_TRUSTED_PROXY_COUNT == 1
        assert base.REST_FRAMEWORK["NUM_PROXIES"] == 1
    finally:
        sys.modules.pop("config.settings.base", None)
        importlib.import_module("config.settings.base")


@pytest.mark.django_db
@override_settings(LINLI_TRUSTED_PROXY_COUNT=1)
def test_an_audit_row_gets_the_clients_address_behind_the_proxy(world, login, client):
    from core.models import AuditEvent

    login(world.a.cadre)
    response = client.get(
        "/registry/export/residents.xlsx",
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )
    assert response.status_code == 200
    assert AuditEvent.objects.latest("pk").ip_address == "198.51.100.9"
