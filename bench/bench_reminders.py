"""The daily elevator inspection reminder job on district-scale data, and on 100,000
elevators (PostgreSQL).

``python bench/bench_reminders.py [--elevators N] [--keep-db]``:

1. copies the district-scale demo database ``linli_bench_registry`` (kept by
   ``bench/bench_registry.py --keep-db``; created by it when absent) into a scratch
   database ``linli_bench_reminders`` (``CREATE DATABASE … TEMPLATE``), and migrates
   the copy (the notification tables);
2. gives the copy the people of a district (the demo seeds a handful of role holders):
   two cadres per neighbourhood, a grid worker and a property staff member per estate,
   a building leader per building with elevators (``--no-people``: the demo's own);
   then runs ``buildings.reminders.send_inspection_reminders`` over the demo's elevators
   (7,000+): the first run (every elevator in a stage goes into a digest), then the
   same day again (nothing is sent); prints the time, the query count, and the queries
   left once the per-digest ``notify()`` calls are taken away;
3. bulk-creates elevators up to ``--elevators`` (100,000) in the buildings that have
   elevators already (the same people are told, so only the elevator count changes),
   clears the notification rows and runs the job again the same way;
4. times the catch-up tick of beat (``reminders_due_now``);
5. drops the scratch database (``--keep-db`` keeps it).

The source database is only read. Without PostgreSQL the script says so and exits 0.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pgutil import admin_sql, drop_database, reachable, say  # noqa: E402

SOURCE = "linli_bench_registry"
DATABASE = "linli_bench_reminders"
ELEVATORS = 100_000
BATCH = 5_000


def env_for(database: str) -> dict[str, str]:
    from bench_registry import env_for as registry_env

    return registry_env(database)


def copy_source(env) -> None:
    if not admin_sql("SELECT 1 FROM pg_database WHERE datname = %s", [SOURCE]):
        say(f"bench_reminders: {SOURCE} is absent; seeding it (bench_registry, minutes)")
        from bench_registry import prepare

        prepare(SOURCE, env_for(SOURCE), timeout=3600)
    admin_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    started = time.monotonic()
    for attempt in range(10):
        try:
            admin_sql(f'CREATE DATABASE "{DATABASE}" TEMPLATE "{SOURCE}"')
            break
        except Exception as exc:  # noqa: BLE001 - the source is in use: wait and retry
            if attempt == 9:
                raise RuntimeError(f"cannot copy {SOURCE}: {exc}") from exc
            time.sleep(3)
    say(f"bench_reminders: copied {SOURCE} in {time.monotonic() - started:.1f} s")
    done = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "migrate", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{done.stdout}\n{done.stderr}")


# --- inside Django (a child process on the scratch database) ---------------------------


def _clear_notifications() -> None:
    from notifications.models import Delivery, JobRun, Notification, OutboxEntry

    for model in (OutboxEntry, Delivery, Notification, JobRun):
        model.objects.all().delete()


class _Counter:
    """Counts the queries run (a query log would keep only the last 9,000)."""

    def __init__(self):
        self.total = 0
        self.in_notify = 0

    def __call__(self, execute, sql, params, many, context):
        self.total += 1
        # the per-digest part: what each notify() reads and writes (not the job's own
        # read of the last digest days, the one MAX over deliveries)
        if (
            any(
                table in sql
                for table in (
                    "notifications_preference",
                    "notifications_notification",
                    "notifications_outboxentry",
                )
            )
            or ("notifications_delivery" in sql and "MAX(" not in sql)
            or "SAVEPOINT" in sql
        ):
            self.in_notify += 1
        return execute(sql, params, many, context)


def _run_job(label: str) -> None:
    from django.db import connection

    from buildings.reminders import send_inspection_reminders

    counter = _Counter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        counts = send_inspection_reminders()
        seconds = time.perf_counter() - started
    say(
        f"  {label}: {seconds:.2f} s, {counter.total} queries "
        f"({counter.total - counter.in_notify} outside the {counts['digests']} notify() "
        f"calls); {counts['elevators']} elevators reminded in {counts['digests']} digests "
        f"({counts['reminders']} lines), {counts['failed']} failed"
    )


def _census(label: str) -> None:
    from django.utils import timezone

    from buildings.models import Elevator
    from buildings.reminders import _in_a_stage, stage_of

    today = timezone.localdate()
    total = Elevator.objects.count()
    staged = sum(
        1
        for due in _in_a_stage(today).values_list("next_inspection_due", flat=True)
        if stage_of(due, today)
    )
    say(f"{label}: {total:,} elevators, {staged:,} in a reminder stage today")


def _add_elevators(target: int) -> None:
    import datetime
    import random

    from django.db import transaction
    from django.utils import timezone

    from buildings.models import Building, Elevator, add_years

    have = Elevator.objects.count()
    if have >= target:
        return
    buildings = list(
        Building.objects.filter(elevators__isnull=False)
        .distinct()
        .values_list("pk", "estate_id", "neighbourhood_id", "subdistrict_id", "district_id")
    )
    rng = random.Random(9)
    today = timezone.localdate()
    started = time.perf_counter()
    rows = []
    for n in range(target - have):
        pk, estate_id, neighbourhood_id, subdistrict_id, district_id = buildings[n % len(buildings)]
        roll = rng.random()
        offset = (
            -rng.randint(1, 45)
            if roll < 0.06
            else rng.randint(0, 30)
            if roll < 0.20
            else rng.randint(31, 364)
        )
        due = today + datetime.timedelta(days=offset)
        rows.append(
            Elevator(
                building_id=pk,
                estate_id=estate_id,
                neighbourhood_id=neighbourhood_id,
                subdistrict_id=subdistrict_id,
                district_id=district_id,
                device_code=f"BENCH{n:09d}",
                next_inspection_due=due,
                last_inspection=add_years(due, -1),
            )
        )
    with transaction.atomic():
        Elevator.objects.bulk_create(rows, batch_size=BATCH)
    say(f"bench_reminders: added {len(rows):,} elevators in {time.perf_counter() - started:.1f} s")


def _add_people() -> None:
    """The people a district has (the demo seeds a handful): two cadres per neighbourhood,
    a grid worker and a property staff member per estate, a building leader per building
    with elevators. RoleAssignment rows only (the job reads those, not the permissions)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction

    from accounts.models import Role, RoleAssignment, User
    from buildings.models import Building, Estate, Neighbourhood

    started = time.perf_counter()
    places = [
        (Role.CADRE, Neighbourhood, list(Neighbourhood.objects.values_list("pk", flat=True)) * 2),
        (Role.GRID_WORKER, Estate, list(Estate.objects.values_list("pk", flat=True))),
        (Role.PROPERTY_STAFF, Estate, list(Estate.objects.values_list("pk", flat=True))),
        (
            Role.BUILDING_LEADER,
            Building,
            list(
                Building.objects.filter(elevators__isnull=False)
                .distinct()
                .values_list("pk", flat=True)
            ),
        ),
    ]
    unusable = make_password(None)
    grants = [(role, model, pk) for role, model, ids in places for pk in ids]
    with transaction.atomic():
        users = User.objects.bulk_create(
            [
                User(phone=f"177{n:08d}", name=f"bench{n}", password=unusable)
                for n in range(len(grants))
            ],
            batch_size=BATCH,
        )
        RoleAssignment.objects.bulk_create(
            [
                RoleAssignment(
                    user=user,
                    role=role,
                    place_type=ContentType.objects.get_for_model(model),
                    place_id=pk,
                )
                for user, (role, model, pk) in zip(users, grants, strict=True)
            ],
            batch_size=BATCH,
        )
    say(
        f"bench_reminders: added {len(grants):,} role holders in "
        f"{time.perf_counter() - started:.1f} s"
    )


def _tick() -> None:
    from django.db import connection

    from buildings.reminders import reminders_due_now

    counter = _Counter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        due = reminders_due_now()
        ms = (time.perf_counter() - started) * 1000
    say(f"  catch-up tick after the run: {ms:.1f} ms, {counter.total} queries, runs again: {due}")


def inside(target: int, people: bool) -> None:
    import django

    django.setup()
    from django.db import connection

    _clear_notifications()
    if people:
        _add_people()
    _census("district demo")
    _run_job("first run")
    _run_job("same day again")
    _tick()
    _add_elevators(target)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE buildings_elevator")
    _clear_notifications()
    _census("scaled up")
    _run_job("first run")
    _run_job("same day again")
    _tick()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elevators", type=int, default=ELEVATORS, help="the scaled-up count")
    parser.add_argument("--keep-db", action="store_true", help=f"do not drop {DATABASE}")
    parser.add_argument("--no-people", action="store_true", help="only the demo's own role holders")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        inside(args.elevators, not args.no_people)
        return 0
    problem = reachable()
    if problem:
        say(f"bench_reminders: not run. {problem}")
        return 0
    env = env_for(DATABASE)
    started = time.monotonic()
    try:
        copy_source(env)
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--inside",
                "--elevators",
                str(args.elevators),
                *(["--no-people"] if args.no_people else []),
            ],
            cwd=BASE_DIR,
            env={**env, "PYTHONPATH": str(BASE_DIR) + os.pathsep + env.get("PYTHONPATH", "")},
            timeout=3600,
            check=False,
        )
        if done.returncode != 0:
            say(f"bench_reminders: the measurement failed (exit {done.returncode})")
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        say(f"bench_reminders: failed: {exc}")
    finally:
        if not args.keep_db:
            drop_database(DATABASE, "bench_reminders")
    say(f"bench_reminders: done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
