"""Fixtures of the webhook tests: API keys on each side of ``world``, a fake resolver."""

import socket

import pytest

from core.services import api_key_create
from tests.factories import UserFactory
from webhooks.apps import WEBHOOKS_MANAGE

PUBLIC_IP = "93.184.216.34"


@pytest.fixture
def owner(db):
    return UserFactory(name="系统管理员")


@pytest.fixture
def key_a(world, owner):
    api_key, full = api_key_create(
        name="区平台A",
        scopes=[WEBHOOKS_MANAGE],
        place=world.a.neighbourhood,
        created_by=owner,
    )
    api_key.full = full
    return api_key


@pytest.fixture
def key_b(world, owner):
    api_key, full = api_key_create(
        name="区平台B", scopes=[WEBHOOKS_MANAGE], place=world.b.neighbourhood, created_by=owner
    )
    api_key.full = full
    return api_key


@pytest.fixture
def dns(monkeypatch):
    """A fake resolver: ``dns["host"] = ["1.2.3.4", ...]``; unknown hosts do not resolve.
    Literal addresses resolve to themselves, as the real resolver does."""
    table = {}

    def getaddrinfo(host, port, *args, **kwargs):
        import ipaddress

        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            if host not in table:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            addresses = table[host]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr("webhooks.guard.socket.getaddrinfo", getaddrinfo)
    table["receiver.example.org"] = [PUBLIC_IP]
    return table
