"""Liveness and readiness probes for load balancers and orchestrators.

/healthz: the process answers (no I/O). /readyz: the database, the cache and
the Celery broker are reachable; otherwise 503 with a JSON body naming what failed.

Probes come over plain HTTP from inside the cluster, addressed to the
container's own IP, so production puts ``ProbeMiddleware`` first: it answers the
two paths before the HTTPS redirect and the ALLOWED_HOSTS check can turn the
probe away. Neither view reads the Host header or anything else from the request.
"""

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.pages import public_page

log = logging.getLogger(__name__)

BROKER_TIMEOUT = 2  # seconds; a probe must answer well inside its own timeout


@public_page
@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


def check_database() -> None:
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()


def check_cache() -> None:
    key = f"linli:readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def check_broker() -> None:
    from kombu import Connection

    with Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=BROKER_TIMEOUT,
    ) as conn:
        # One attempt, no retry loop: the orchestrator probes again anyway.
        conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}


@public_page
@never_cache
@require_safe
def readyz(request):
    results, failed = {}, []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            log.warning("readiness check %s failed: %s", name, exc)
            results[name] = {"ok": False, "error": exc.__class__.__name__}
            failed.append(name)
        else:
            results[name] = {"ok": True}
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": results}
    return JsonResponse(body, status=503 if failed else 200)


PROBES = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    """Serve the probes ahead of every other middleware (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = PROBES.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)
