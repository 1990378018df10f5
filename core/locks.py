"""Locks on things that have no row: a phone number, a client address.

:func:`advisory_lock` takes a transaction-scoped PostgreSQL advisory lock keyed by a
name (hashed to 64 bits), so that parallel requests about the same thing run one after
the other until the transaction ends. Call it inside ``transaction.atomic()``. On SQLite
(development, tests) it does nothing: there a writing transaction already holds the one
database lock. Take several locks always in the same order (e.g. the phone's, then the
address's), so two requests never wait on each other crosswise.
"""

from __future__ import annotations

import hashlib

from django.db import connection


def advisory_key(name: str) -> int:
    """The signed 64-bit key of ``name`` (stable across processes and machines)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def advisory_lock(name: str) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [advisory_key(name)])
