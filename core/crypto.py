"""Encryption at rest for personal identifiers (ID numbers, phones, passports).

* AES-GCM (``cryptography``) with keys from ``settings.ID_ENCRYPTION_KEYS``:
  ``"kid1:<base64 key>,kid2:<base64 key>"``. The first key encrypts; every key
  listed decrypts, so keys can be rotated (``manage.py rotate_id_keys``).
  A token is ``<kid>$<base64(nonce | ciphertext+tag)>``; the key id is bound as
  associated data, so a token cannot be replayed under another key id.
* A keyed hash (HMAC-SHA256, ``settings.ID_HASH_KEY``) for exact lookup and
  de-duplication without decrypting. It does not change when the encryption
  keys rotate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

NONCE_BYTES = 12
SEP = "$"


class DecryptionError(Exception):
    """A token could not be decrypted with any configured key."""


def parse_keys(spec: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in (spec or "").split(",")):
        if not part:
            continue
        kid, _sep, b64 = part.partition(":")
        if not kid or not b64 or SEP in kid:
            raise ImproperlyConfigured("ID_ENCRYPTION_KEYS entries look like 'kid:base64key'.")
        try:
            key = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ImproperlyConfigured(f"ID_ENCRYPTION_KEYS: key {kid!r} is not base64.") from exc
        if len(key) not in (16, 24, 32):
            raise ImproperlyConfigured(
                f"ID_ENCRYPTION_KEYS: key {kid!r} must be 16, 24 or 32 bytes."
            )
        if kid in keys:
            raise ImproperlyConfigured(f"ID_ENCRYPTION_KEYS: key id {kid!r} is repeated.")
        keys[kid] = key
    if not keys:
        raise ImproperlyConfigured("ID_ENCRYPTION_KEYS holds no key.")
    return keys


class FieldCipher:
    def __init__(self, spec: str):
        self.keys = parse_keys(spec)
        self.current_kid = next(iter(self.keys))
        self._aead = {kid: AESGCM(key) for kid, key in self.keys.items()}

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        kid = self.current_kid
        sealed = self._aead[kid].encrypt(nonce, plaintext.encode(), kid.encode())
        return f"{kid}{SEP}{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> str:
        kid, _sep, b64 = (token or "").partition(SEP)
        aead = self._aead.get(kid)
        if aead is None:
            raise DecryptionError(f"no key with id {kid!r} is configured")
        try:
            raw = base64.b64decode(b64)
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], kid.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DecryptionError("the token is damaged or was not made with this key") from exc

    @staticmethod
    def key_id(token: str) -> str:
        return (token or "").partition(SEP)[0]

    def is_current(self, token: str) -> bool:
        return self.key_id(token) == self.current_kid


@lru_cache(maxsize=1)
def cipher() -> FieldCipher:
    return FieldCipher(settings.ID_ENCRYPTION_KEYS)


@lru_cache(maxsize=1)
def _hash_key() -> bytes:
    key = settings.ID_HASH_KEY
    if not key:
        raise ImproperlyConfigured("Set ID_HASH_KEY.")
    return key.encode()


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of a normalised identifier, hex (64 characters)."""
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


@receiver(setting_changed)
def _reset(setting, **kwargs):
    if setting in ("ID_ENCRYPTION_KEYS", "ID_HASH_KEY"):
        cipher.cache_clear()
        _hash_key.cache_clear()
