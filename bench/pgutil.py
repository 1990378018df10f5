"""What every benchmark needs of PostgreSQL: its address, admin SQL, a reachability check."""

from __future__ import annotations

import os

PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def say(message: str = "") -> None:
    print(message, flush=True)


def admin_sql(sql: str, params=None, *, database: str = "postgres"):
    """Run one statement outside a transaction (CREATE/DROP DATABASE); rows if any."""
    import psycopg

    with psycopg.connect(f"{PG_URL}/{database}", autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def drop_database(name: str, who: str, *, quiet: bool = False) -> None:
    """Drop a bench's scratch database, saying so; a failure is said, never raised."""
    try:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not quiet:
            say(f"{who}: dropped {name}")
    except Exception as exc:  # noqa: BLE001 - cleaning up must not hide the figures
        say(f"{who}: could not drop {name}: {exc}")


def reachable() -> str | None:
    try:
        admin_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL is not reachable at {PG_URL} ({exc}); set BENCH_PG_URL."
    return None
