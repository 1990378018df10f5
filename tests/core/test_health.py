"""/healthz (the process answers) and /readyz (database, cache, broker reachable)."""

import socket
import threading
import time
from contextlib import ExitStack
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError, connections
from django.test import Client, override_settings

from core import health
from core.redis import redis_cache_settings

CLUSTER_HOST = "10.0.3.7:8000"  # how a probe inside the cluster addresses the pod


def _refused_port():
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unreachable_redis_cache():
    return redis_cache_settings(
        f"redis://127.0.0.1:{_refused_port()}/0", connect_timeout=0.5, read_timeout=0.5
    )


@pytest.fixture
def database_down(db):
    """Every connection refuses to open a cursor, as when the server is gone.

    Patched on the connections' classes: /readyz checks the database from a thread of
    its own, with connections of its own. Undone before the test database is rolled
    back (hence not monkeypatch).
    """

    def refuse(*args, **kwargs):
        raise OperationalError(
            'connection to server at "db" (10.0.3.2), port 5432 failed: Connection refused'
        )

    with ExitStack() as stack:
        for wrapper in {type(connections[alias]) for alias in connections}:
            stack.enter_context(mock.patch.object(wrapper, "cursor", refuse))
        yield


def test_healthz_answers_json_without_touching_the_database(client):
    # no django_db mark: any query would raise here
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_even_when_the_database_is_down(client, database_down):
    response = client.get("/healthz")
    assert response.status_code == 200


@pytest.mark.django_db
def test_readyz_is_200_when_everything_answers(client):
    assert settings.CELERY_BROKER_URL == "memory://"
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert body["checks"] == {
        "database": {"ok": True},
        "cache": {"ok": True},
        "broker": {"ok": True},
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_is_unreachable(client, database_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["cache"] == {"ok": True}
    assert body["checks"]["broker"] == {"ok": True}
    # the body names the component, never the address or the driver's message
    assert "10.0.3.2" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_is_503_naming_the_cache_when_redis_is_unreachable(client):
    with override_settings(CACHES=_unreachable_redis_cache()):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"]
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["database"] == {"ok": True}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_broker_when_it_is_unreachable(client):
    port = _refused_port()
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["broker"]["ok"] is False
    assert str(port) not in response.content.decode()


@pytest.mark.django_db
def test_readyz_names_every_failure_at_once(client, database_down):
    with override_settings(
        CACHES=_unreachable_redis_cache(),
        CELERY_BROKER_URL=f"redis://127.0.0.1:{_refused_port()}/0",
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database", "cache", "broker"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_accept_only_safe_methods(client, path):
    assert client.post(path).status_code == 405
    assert client.head(path).status_code == 200


# --- production: probes over plain HTTP from inside the cluster ---------------------


@pytest.fixture
def production_like(production_settings_module):
    """The running settings with production's HTTPS, host and middleware rules."""
    prod = production_settings_module
    with override_settings(
        DEBUG=False,
        ALLOWED_HOSTS=prod.ALLOWED_HOSTS,
        MIDDLEWARE=prod.MIDDLEWARE,
        SECURE_PROXY_SSL_HEADER=prod.SECURE_PROXY_SSL_HEADER,
        SECURE_SSL_REDIRECT=prod.SECURE_SSL_REDIRECT,
        SECURE_REDIRECT_EXEMPT=prod.SECURE_REDIRECT_EXEMPT,
        SECURE_HSTS_SECONDS=prod.SECURE_HSTS_SECONDS,
    ):
        yield prod


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_plain_http_at_the_pod_address_in_production(client, production_like, path):
    response = client.get(path, HTTP_HOST=CLUSTER_HOST)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_other_paths_still_redirect_to_https_and_check_the_host_in_production(
    client, production_like
):
    response = client.get("/some/page/", HTTP_HOST="linli.example.org")
    assert response.status_code == 301
    assert response["Location"] == "https://linli.example.org/some/page/"
    # behind the proxy (X-Forwarded-Proto: https) the request goes through
    response = client.get(
        "/some/page/", HTTP_HOST="linli.example.org", HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.status_code == 404
    assert client.get("/some/page/", HTTP_HOST=CLUSTER_HOST).status_code == 400


@pytest.mark.django_db
def test_redirect_exemption_alone_keeps_readyz_on_plain_http(production_like):
    """Should the probe middleware ever move, SECURE_REDIRECT_EXEMPT still holds."""
    without_probe = [m for m in production_like.MIDDLEWARE if m != "core.health.ProbeMiddleware"]
    # a fresh Client per configuration: a client builds its middleware once
    with override_settings(MIDDLEWARE=without_probe):
        response = Client().get("/readyz", HTTP_HOST="linli.example.org")
        assert response.status_code == 200
        with override_settings(SECURE_REDIRECT_EXEMPT=[]):
            response = Client().get("/readyz", HTTP_HOST="linli.example.org")
            assert response.status_code == 301


# --- one deadline for all checks ------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_runs_the_checks_at_once_under_one_deadline(client, monkeypatch, settings):
    """A check that hangs is reported as a timeout; the probe answers anyway, in time."""
    settings.LINLI_READYZ_DEADLINE = 0.5
    release = threading.Event()

    def hangs():
        release.wait(10)

    def slow():
        time.sleep(0.3)

    monkeypatch.setattr(
        health,
        "CHECKS",
        {"database": health.check_database, "cache": hangs, "broker": slow, "other": slow},
    )
    started = time.monotonic()
    try:
        response = client.get("/readyz")
    finally:
        release.set()
    elapsed = time.monotonic() - started
    # 0.3 s each, run together: in one deadline, not the sum; the hanging one cut off
    assert elapsed < 1.0
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"]
    assert body["checks"]["cache"] == {"ok": False, "error": "timeout"}
    assert body["checks"]["broker"] == {"ok": True}
    assert body["checks"]["database"] == {"ok": True}


@pytest.mark.django_db
def test_the_broker_check_uses_the_broker_socket_timeouts(client, monkeypatch):
    """A broker that accepts and never answers fails the check in its read timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)  # the kernel accepts; nobody ever answers
    port = server.getsockname()[1]
    try:
        with override_settings(
            CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0",
            CELERY_BROKER_TRANSPORT_OPTIONS={"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
            LINLI_READYZ_DEADLINE=5,
        ):
            started = time.monotonic()
            response = client.get("/readyz")
            elapsed = time.monotonic() - started
    finally:
        server.close()
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["error"] != "timeout"
    assert elapsed < 2
