"""Liveness and readiness probes for load balancers and orchestrators.

/healthz: the process answers (no I/O). /readyz: the database, the cache and
the Celery broker are reachable; otherwise 503 with a JSON body naming what failed.

The three checks run at the same time, each in its own thread, under one deadline
(``LINLI_READYZ_DEADLINE``, 2 s by default): a check that has not finished by then is
reported failed with the error ``"timeout"`` and the probe answers anyway, so a frozen
server never holds a web worker. The Redis clients have their own connect and read
timeouts (``core.redis``), so a check left behind ends soon after on its own.

Probes come over plain HTTP from inside the cluster, addressed to the
container's own IP, so production puts ``ProbeMiddleware`` first: it answers the
two paths before the HTTPS redirect and the ALLOWED_HOSTS check can turn the
probe away. Neither view reads the Host header or anything else from the request.
"""

import contextvars
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.pages import public_page

log = logging.getLogger(__name__)

DEFAULT_DEADLINE = 2.0  # seconds for all checks together; well inside a probe's timeout
TIMEOUT = "timeout"


@public_page
@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


def check_database() -> None:
    try:
        for alias in connections:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
    finally:
        # this runs in a thread of its own: its connections die with it
        connections.close_all()


def check_cache() -> None:
    key = f"linli:readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def check_broker() -> None:
    from kombu import Connection

    deadline = readiness_deadline()
    # the transport options carry the Redis socket timeouts (core.redis)
    with Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=deadline,
    ) as conn:
        # One attempt, no retry loop: the orchestrator probes again anyway.
        conn.ensure_connection(max_retries=0, timeout=deadline)


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}


def readiness_deadline() -> float:
    return float(getattr(settings, "LINLI_READYZ_DEADLINE", DEFAULT_DEADLINE))


def run_checks(checks: dict, deadline: float) -> dict:
    """``{name: None | error name}`` for each check, all run at once under ``deadline``."""
    executor = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readyz")
    try:
        # each thread sees this request's cache connections (a context copy per thread)
        futures = {
            name: executor.submit(contextvars.copy_context().run, check)
            for name, check in checks.items()
        }
        wait(futures.values(), timeout=deadline)
    finally:
        # never wait for a check that is late: it ends on its own socket timeout
        executor.shutdown(wait=False, cancel_futures=True)
    outcome = {}
    for name, future in futures.items():
        if not future.done() or future.cancelled():
            log.warning("readiness check %s did not finish within %ss", name, deadline)
            outcome[name] = TIMEOUT
            continue
        exc = future.exception()
        if exc is not None:
            log.warning("readiness check %s failed: %s", name, exc)
            outcome[name] = exc.__class__.__name__
        else:
            outcome[name] = None
    return outcome


@public_page
@never_cache
@require_safe
def readyz(request):
    results, failed = {}, []
    for name, error in run_checks(CHECKS, readiness_deadline()).items():
        if error is None:
            results[name] = {"ok": True}
        else:
            results[name] = {"ok": False, "error": error}
            failed.append(name)
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
