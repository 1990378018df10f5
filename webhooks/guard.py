"""The address guard: a webhook never reaches into the server's own network.

A target URL must be http(s) with a host and no credentials. Its host is resolved
(``socket.getaddrinfo``) and refused when any address it resolves to is private,
loopback, link-local, multicast, reserved or unspecified (an IPv4 address mapped
into IPv6 is judged as the IPv4 address). ``settings.LINLI_WEBHOOK_ALLOWED_HOSTS``
admits on-premise receivers: an entry is a host name (matched exactly, case-insensitive)
or an address or CIDR block (``10.20.0.0/16``) that admits the addresses inside it.

The guard runs when a subscription is saved (a translated validation error) and again
for every attempt and every redirect hop (DNS can change); the transport then connects
to the very addresses that were checked, so a second lookup cannot swap them.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SCHEMES = {"http": 80, "https": 443}


class UnsafeTarget(ValidationError):
    """The URL is refused by the address guard (a ValidationError with a message)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent on the request line
    addresses: tuple[str, ...]  # checked addresses, in the resolver's order


def _allow_list() -> tuple[set[str], list]:
    names, networks = set(), []
    for entry in getattr(settings, "LINLI_WEBHOOK_ALLOWED_HOSTS", []) or []:
        entry = str(entry).strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return names, networks


def is_forbidden_address(address) -> bool:
    """Whether ``address`` lies where a webhook must not go."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UnsafeTarget(
            _("The host “%(host)s” of the webhook URL cannot be resolved.") % {"host": host},
            code="unresolvable_host",
        ) from exc
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = sockaddr[0].split("%", 1)[0]  # drop an IPv6 zone index
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeTarget(
            _("The host “%(host)s” of the webhook URL cannot be resolved.") % {"host": host},
            code="unresolvable_host",
        )
    return addresses


def check_url(url: str) -> Target:
    """The checked target of ``url``; raises :class:`UnsafeTarget` when it is refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(_("Enter a valid webhook URL."), code="invalid_url") from exc
    scheme = (parts.scheme or "").lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in SCHEMES or not host:
        raise UnsafeTarget(
            _("A webhook URL must start with https:// or http:// and name a host."),
            code="invalid_url",
        )
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget(
            _("A webhook URL must not contain a user name or password."), code="invalid_url"
        )
    port = port or SCHEMES[scheme]
    addresses = _resolve(host, port)
    names, networks = _allow_list()
    if host.lower() not in names:
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if any(ip in network for network in networks if network.version == ip.version):
                continue
            if is_forbidden_address(ip):
                raise UnsafeTarget(
                    _(
                        "The webhook URL points at a private, loopback or link-local "
                        "address (%(address)s); only public addresses, or hosts on "
                        "the allow-list, may receive webhooks."
                    )
                    % {"address": address},
                    code="forbidden_address",
                )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme, host, port, path, tuple(addresses))
