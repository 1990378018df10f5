"""The client's address behind the documented proxies (``LINLI_TRUSTED_PROXY_COUNT``).

gunicorn puts its peer, the proxy, in ``REMOTE_ADDR`` and does not read
X-Forwarded-For. Each trusted proxy appends the address it received the request
from to X-Forwarded-For, so with N trusted proxies the client is the N-th entry from
the right: what the outermost trusted proxy saw. Entries further left were written
by the client and are never believed. With N = 0 (the default: nothing in front),
X-Forwarded-For is ignored and ``REMOTE_ADDR`` is the client.

The same count drives DRF's throttles (``REST_FRAMEWORK["NUM_PROXIES"]``, the same
rule) and django-axes (``AXES_CLIENT_IP_CALLABLE`` = :func:`axes_client_ip`), so the
audit log, the verification limit, API budgets and sign-in lockouts all see one address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def trusted_proxy_count() -> int:
    return max(0, int(getattr(settings, "LINLI_TRUSTED_PROXY_COUNT", 0) or 0))


def _address(value: str) -> str | None:
    """``value`` as a bare IP address (a port or IPv6 brackets removed), else None."""
    value = value.strip()
    candidates = [value]
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        candidates.append(value[1 : value.index("]")])
    elif value.count(":") == 1:  # 203.0.113.7:5123
        candidates.append(value.split(":", 1)[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def client_ip(request) -> str | None:
    """The client's address as the outermost trusted proxy saw it."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    count = trusted_proxy_count()
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count == 0 or not forwarded.strip():
        return remote
    hops = [hop for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    # fewer entries than proxies: the leftmost is the furthest any proxy saw (as DRF)
    return _address(hops[-min(count, len(hops))]) or remote


def axes_client_ip(request) -> str | None:
    """django-axes' ``AXES_CLIENT_IP_CALLABLE``: the same address as everywhere else."""
    return client_ip(request)
