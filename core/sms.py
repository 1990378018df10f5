"""SMS: a small pluggable backend (``LINLI_SMS_BACKEND``, a dotted path).

A backend is one class with ``send(phone, message)`` that raises :class:`SmsError` when
the message did not go out; an Aliyun or Tencent Cloud backend is one such class.
"""

from __future__ import annotations

import base64
import logging
import re
from string import Template
from urllib import error as urlerror
from urllib import parse, request

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("linli.sms")

DEFAULT_BACKEND = "core.sms.ConsoleSmsBackend"
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


class SmsError(Exception):
    """The message was not sent (the gateway refused it, or could not be reached)."""


def valid_mainland_mobile(phone: str | None) -> bool:
    """Eleven digits starting with 13 to 19 (a mainland mobile number, as stored)."""
    return bool(phone) and bool(_MOBILE_RE.match(str(phone)))


def masked(phone: str) -> str:
    """138****0001: enough for a log line, never the whole number."""
    phone = str(phone or "")
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


class SmsBackend:
    def send(self, phone: str, message: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """Development and demo: the message goes to the log (logger ``linli.sms``, at INFO,
    so the console of ``make run`` shows it), never anywhere else."""

    def send(self, phone: str, message: str) -> None:
        logger.info("SMS to %s: %s", masked(phone), message)


class HttpGatewaySmsBackend(SmsBackend):
    """A generic HTTP gateway: POSTs the settings' template as a form.

    Settings: ``LINLI_SMS_GATEWAY_URL``, ``_USER``, ``_PASSWORD``, ``_TEMPLATE`` (a
    ``string.Template`` of ``$phone`` and ``$message``, default
    ``phone=$phone&message=$message``, sent as form fields; basic auth from the user
    and password), ``_TIMEOUT`` (seconds).
    Any 2xx answer is success; anything else, or no answer, raises :class:`SmsError`.
    """

    def __init__(self):
        self.url = getattr(settings, "LINLI_SMS_GATEWAY_URL", "")
        self.user = getattr(settings, "LINLI_SMS_GATEWAY_USER", "")
        self.password = getattr(settings, "LINLI_SMS_GATEWAY_PASSWORD", "")
        self.template = getattr(
            settings, "LINLI_SMS_GATEWAY_TEMPLATE", "phone=$phone&message=$message"
        )
        self.timeout = float(getattr(settings, "LINLI_SMS_GATEWAY_TIMEOUT", 5))

    def fields(self, phone: str, message: str) -> dict[str, str]:
        pairs = {}
        for part in self.template.split("&"):
            name, _, value = part.partition("=")
            pairs[name] = Template(value).safe_substitute(phone=phone, message=message)
        return pairs

    def send(self, phone: str, message: str) -> None:
        if not self.url:
            raise SmsError("LINLI_SMS_GATEWAY_URL is not set")
        body = parse.urlencode(self.fields(phone, message)).encode()
        req = request.Request(self.url, data=body, method="POST")  # noqa: S310 - settings URL
        req.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        if self.user:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urlerror.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError) as exc:
            raise SmsError(f"gateway unreachable: {exc.__class__.__name__}") from exc
        if not 200 <= status < 300:
            raise SmsError(f"gateway answered {status}")
        logger.info("SMS to %s sent through the gateway", masked(phone))


def get_sms_backend() -> SmsBackend:
    path = getattr(settings, "LINLI_SMS_BACKEND", "") or DEFAULT_BACKEND
    return import_string(path)()


def send_sms(phone: str, message: str) -> None:
    """Send one message now (account codes only; notices go through notify())."""
    if not valid_mainland_mobile(phone):
        raise SmsError("not a mainland mobile number")
    get_sms_backend().send(phone, message)
