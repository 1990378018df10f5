"""Signing per the Standard Webhooks specification (https://www.standardwebhooks.com/).

A secret is ``whsec_`` + base64 of 24 random bytes. A message carries three headers:
``webhook-id`` (``msg_...``, the same on every retry of one delivery),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
(``v1,`` + base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}`` keyed with the
secret's decoded bytes). Any Standard Webhooks library verifies it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's tag, not a secret
SECRET_BYTES = 24


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def secret_key(secret: str) -> bytes:
    """The HMAC key: the bytes the secret's base64 part stands for."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
