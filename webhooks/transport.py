"""Sending one webhook message: an HTTP POST to checked addresses, redirects by hand.

Only the standard library (``http.client``): the connection goes to an address the
guard approved (``webhooks.guard.check_url``), with the URL's host name in the
``Host`` header and, for https, in SNI and the certificate check. A redirect
(301, 302, 303, 307, 308) is followed at most :data:`MAX_REDIRECTS` times; each hop is
checked by the guard again, and the same signed body is POSTed to it (its signature
stays valid: the body and the webhook-id do not change).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings

from .guard import Target, UnsafeTarget, check_url

MAX_REDIRECTS = 3
REDIRECTS = {301, 302, 303, 307, 308}
USER_AGENT = "Linli-Webhooks/1"
READ_LIMIT = 64 * 1024  # a receiver's answer is read this far, then dropped


class DeliveryError(Exception):
    """The message could not be handed over (refused, unreachable, timed out...)."""


@dataclass(frozen=True)
class Answer:
    status: int
    url: str  # the URL that answered (after redirects)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def request_once(target: Target, body: bytes, headers: dict, timeout: float) -> tuple[int, str]:
    """POST ``body`` to the first reachable checked address: (status, Location header)."""
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last_error: Exception | None = None
    for address in target.addresses:
        connection = cls(target.host, target.port, address, timeout)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(READ_LIMIT)
            return response.status, response.getheader("Location") or ""
        except (OSError, http.client.HTTPException) as exc:
            last_error = exc
        finally:
            connection.close()
    raise DeliveryError(f"{type(last_error).__name__}: {last_error}")


def post(url: str, body: bytes, headers: dict, *, timeout: float | None = None) -> Answer:
    """POST a signed message to ``url``, following redirects, guarding every hop.

    Raises :class:`DeliveryError` when it cannot be handed over (a refused hop included).
    """
    if timeout is None:
        timeout = getattr(settings, "LINLI_WEBHOOK_TIMEOUT", 10.0)
    headers = {
        **headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            target = check_url(url)
        except UnsafeTarget as exc:
            raise DeliveryError(f"refused {url}: {' '.join(exc.messages)}") from exc
        status, location = request_once(target, body, headers, timeout)
        if status not in REDIRECTS:
            return Answer(status, url)
        if not location:
            return Answer(status, url)
        url = urljoin(url, location)
    raise DeliveryError(f"more than {MAX_REDIRECTS} redirects")
