"""Race helpers for the PostgreSQL concurrency tests: real parallel connections."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections


def run_together(*callables, timeout: float = 60):
    """Start all callables at the same moment, each on its own database connection.

    Returns what each returned, or the exception it raised; fails the test when a racer
    is still running after ``timeout`` seconds (a deadlock).
    """
    barrier = threading.Barrier(len(callables))
    results = [None] * len(callables)

    def runner(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racer is stuck (deadlock?)"
    return results


@pytest.fixture
def postgres_only():
    """Skip on SQLite: row locks and parallel writers need PostgreSQL."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real row locks")
