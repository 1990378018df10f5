"""Registry search and the "90+" smart report on district-scale data (PostgreSQL).

``python bench/bench_registry.py`` (also the last step of ``make bench``):

1. makes sure the database ``linli_bench_registry`` holds the district-scale demo
   (557 neighbourhoods, ~398,000 dwellings, ~510,000 residents): creates, migrates
   and seeds it (``seed_demo --scale district``, printing the time) when absent;
   a database left by an interrupted run is completed (the seed resumes);
2. measures, for cadre 13800000002 (one neighbourhood) and for the superuser
   13800000001 (the whole district), what the registry's search box does - the
   count and the first page of 50 - for a Chinese name fragment, a full name,
   pinyin, initials, the last 4 digits of a phone and of an ID number, and a whole
   ID number, ``--repeat`` times each (p50/p95 in ms); then EXPLAIN ANALYZE of the
   name searches, to show which index PostgreSQL uses; then the smart report
   "90 岁以上老人" (count and first page) for the neighbourhood and the district;
   and the GIN index over the names' 1- and 2-character grams that answers the
   1-2 character fragments pg_trgm cannot index (``resident_name_grams``): its size,
   and those searches through it next to the plain ``LIKE`` they were before
   (``--no-grams-compare`` skips this part);
3. drops the database (``--keep-db`` keeps it: the next run skips the seeding).

Identifiers are encrypted with fixed bench-only keys so that a kept database
stays readable by the next run. Without PostgreSQL the script says so and exits 0.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pgutil import PG_URL, admin_sql, drop_database, reachable, say  # noqa: E402

DATABASE = "linli_bench_registry"
# Bench-only keys (fixed so that a kept database can be read again; never used elsewhere).
BENCH_KEY = base64.b64encode(hashlib.sha256(b"linli-bench-registry").digest()).decode()
BENCH_HASH_KEY = "linli-bench-registry-hash-key"
CADRE, SUPERUSER = "13800000002", "13800000001"
PAGE = 50


# --- the database ------------------------------------------------------------------------


def env_for(database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DEBUG="False",  # no query log: memory stays flat over 500,000 rows
        DATABASE_URL=f"{PG_URL}/{database}",
        ID_ENCRYPTION_KEYS=f"bench:{BENCH_KEY}",
        ID_HASH_KEY=BENCH_HASH_KEY,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env, *args: str, timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(database: str, env, *, timeout: float) -> None:
    exists = admin_sql("SELECT 1 FROM pg_database WHERE datname = %s", [database])
    if not exists:
        say(f"bench_registry: creating {database}")
        admin_sql(f'CREATE DATABASE "{database}"')
    started = time.monotonic()
    manage(env, "migrate", "--noinput", "-v0", timeout=600)
    say("bench_registry: seed_demo --scale district (a first run takes several minutes)")
    output = manage(
        env, "seed_demo", "--scale", "district", "--force", "-v1", timeout=max(60, timeout)
    )
    for line in output.splitlines():
        if "registry:" in line or "places:" in line:
            say(f"  {line.strip()}")
    say(f"bench_registry: data ready in {time.monotonic() - started:.0f} s")
    admin_sql("VACUUM ANALYZE", database=database)


# --- the measurements (inside Django) ------------------------------------------------------


def timed(fn, repeat: int) -> tuple[float, float, object]:
    result = fn()  # warm-up (and the value reported)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, result


def search_terms():
    """Terms a cadre would type, taken from a resident of neighbourhood 1 (so both the
    cadre and the superuser find someone): fragment, full name, pinyin, initials,
    phone and ID suffixes, whole ID number."""
    from buildings.demo import demo_neighbourhoods
    from residents.models import Resident

    first = demo_neighbourhoods()[0]
    person = (
        Resident.objects.current()
        .filter(neighbourhood=first, id_type="id_card", name__regex=r"^.{3}$")
        .exclude(phone_last4="")
        .order_by("pk")[37]
    )
    number = person.decrypt_identifier()
    return [
        ("name fragment (2 chars)", person.name[1:]),
        ("surname (1 char)", person.name[0]),
        ("full name (3 chars)", person.name),
        ("pinyin", person.name_pinyin),
        ("pinyin fragment", person.name_pinyin[-5:]),
        ("initials", person.name_initials),
        ("phone last 4", person.phone_last4),
        ("ID last 4", person.id_last4),
        ("whole ID number", number),
    ]


def measure_search(users, repeat: int) -> None:
    from residents.search import resident_search_q
    from residents.selectors import residents_visible_to

    terms = search_terms()
    say()
    say(f"Search box: count + first page of {PAGE} ({repeat} runs each, ms)")
    say(f"{'who':<22}{'what':<26}{'term':<22}{'found':>9}{'p50':>9}{'p95':>9}")
    for label, user in users:
        for what, term in terms:
            queryset = residents_visible_to(user=user).filter(resident_search_q(term))

            def run(queryset=queryset):
                return queryset.count(), len(list(queryset.order_by("household_id", "id")[:PAGE]))

            p50, p95, (count, _rows) = timed(run, repeat)
            shown = term if what != "whole ID number" else term[:3] + "…" + term[-4:]
            say(f"{label:<22}{what:<26}{shown:<22}{count:>9,}{p50:>9.1f}{p95:>9.1f}")


def _plan_summary(plan: str) -> str:
    indexes = re.findall(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan) on (\w+)", plan)
    indexes += re.findall(r"Index (?:Only )?Scan (?:Backward )?using (\w+) on residents_", plan)
    wanted = sorted({i for i in indexes if i.startswith(("resident", "residents_"))})
    seq = "Seq Scan on residents_resident" in plan
    total = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return (
        f"{total.group(1) if total else '?'} ms; resident indexes: {', '.join(wanted) or 'none'}"
        f"{'; sequential scan of residents' if seq else ''}"
    )


def explain(users) -> None:
    """EXPLAIN ANALYZE of the name searches: which index answers which kind of term.

    The full plans are printed for the district-wide user (for the cadre, the
    neighbourhood index narrows the rows first, whatever the term)."""
    from django.db import connection

    from residents.search import resident_search_q
    from residents.selectors import residents_visible_to

    terms = dict(search_terms())
    fragment, full = terms["name fragment (2 chars)"], terms["full name (3 chars)"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW lc_ctype")
        ctype = cursor.fetchone()[0]
        cursor.execute("SELECT show_trgm(%s), show_trgm(%s)", [fragment, full])
        trgm_fragment, trgm_full = cursor.fetchone()
    say()
    say(f"lc_ctype = {ctype}")
    say(f"show_trgm({fragment!r}) = {trgm_fragment} (padded: a LIKE '%{fragment}%' gets none)")
    say(f"show_trgm({full!r}) = {trgm_full}")
    for index, (label, user) in enumerate(users):
        for what in (
            "surname (1 char)",
            "name fragment (2 chars)",
            "full name (3 chars)",
            "pinyin",
            "initials",
        ):
            term = terms[what]
            queryset = residents_visible_to(user=user).filter(resident_search_q(term))
            plan = queryset.order_by("household_id", "id")[:PAGE].explain(
                analyze=True, buffers=True
            )
            say(f"EXPLAIN ANALYZE, {label}, {what} {term!r}: {_plan_summary(plan)}")
            sql, params = queryset.values("pk").query.sql_with_params()
            with connection.cursor() as cursor:
                # the ORM's own parameterised SQL, wrapped to explain the count
                counting = f"EXPLAIN (ANALYZE) SELECT COUNT(*) FROM ({sql}) AS matches"  # noqa: S608
                cursor.execute(counting, params)
                counted = "\n".join(row[0] for row in cursor.fetchall())
            say(f"    and its count: {_plan_summary(counted)}")
            if index == len(users) - 1 and what in (
                "name fragment (2 chars)",
                "full name (3 chars)",
            ):
                for line in plan.splitlines():
                    say(f"    {line}")


def measure_name_grams(users, repeat: int) -> None:
    """The GIN index over the name's 1- and 2-character grams (``resident_name_grams``,
    migration residents 0004): its size, and the 1-2 character searches as the search
    box runs them now (``name__fragment``) next to the ``LIKE '%…%'`` they were before
    (``name__contains``, which pg_trgm cannot index for so short a term)."""
    from django.db import connection

    from residents.selectors import residents_visible_to

    terms = dict(search_terms())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_relation_size('resident_name_grams')), "
            "pg_size_pretty(pg_relation_size('resident_name_trgm'))"
        )
        grams_size, trgm_size = cursor.fetchone()
    say()
    say(
        f"Name grams GIN index resident_name_grams: {grams_size} "
        f"(the pg_trgm index on the name: {trgm_size}); count + first page of {PAGE}, ms"
    )
    say(f"{'who':<22}{'what':<26}{'term':<10}{'lookup':<16}{'found':>9}{'p50':>9}{'p95':>9}")
    for label, user in users:
        for what in ("surname (1 char)", "name fragment (2 chars)"):
            term = terms[what]
            for lookup in ("fragment", "contains"):
                queryset = residents_visible_to(user=user).filter(**{f"name__{lookup}": term})

                def run(queryset=queryset):
                    return queryset.count(), len(
                        list(queryset.order_by("household_id", "id")[:PAGE])
                    )

                p50, p95, (count, _rows) = timed(run, repeat)
                shown = f"name__{lookup}"
                say(f"{label:<22}{what:<26}{term:<10}{shown:<16}{count:>9,}{p50:>9.1f}{p95:>9.1f}")


def measure_reports(users, repeat: int) -> None:
    from buildings.demo import demo_neighbourhoods

    say()
    say(f"Smart report “90 岁以上老人”: count + first page of {PAGE} ({repeat} runs each, ms)")
    say(f"{'who':<22}{'where':<28}{'found':>9}{'p50':>9}{'p95':>9}")
    first = demo_neighbourhoods()[0]
    try:
        from residents.selectors.reports import clean_conditions, report_residents
    except ImportError:  # the smart reports are not there: the same query by hand
        from core.scoping import scope_for
        from residents.models import Resident

        def residents_90(user, neighbourhood_id):
            queryset = scope_for(user, "buildings.manage_neighbourhood").filter(
                Resident.objects.current().aged_at_least(90)
            )
            if neighbourhood_id:
                queryset = queryset.filter(neighbourhood_id=neighbourhood_id)
            return queryset.select_related("estate", "building", "dwelling").order_by(
                "neighbourhood_id", "estate_id", "building_id", "dwelling_id", "id"
            )
    else:
        conditions = clean_conditions({"age_min": 90, "moved_out": "current"})

        def residents_90(user, neighbourhood_id):
            return report_residents(
                user=user, conditions=conditions, neighbourhood_id=neighbourhood_id
            )

    for label, user in users:
        for where, neighbourhood_id in ((str(first), first.pk), ("all places in scope", None)):
            queryset = residents_90(user, neighbourhood_id)

            def run(queryset=queryset):
                return queryset.count(), [r.care_tags.all() for r in queryset[:PAGE]]

            p50, p95, (count, _rows) = timed(run, repeat)
            say(f"{label:<22}{where:<28}{count:>9,}{p50:>9.1f}{p95:>9.1f}")
        plan = residents_90(user, None)[:PAGE].explain(analyze=True)
        say(f"    EXPLAIN ANALYZE ({label}, all places in scope): {_plan_summary(plan)}")
        if user.is_superuser:
            for line in plan.splitlines():
                say(f"      {line}")


def measure(env, repeat: int, *, name_grams: bool) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from accounts.models import User
    from residents.models import Household, Resident

    users = [
        (f"cadre {CADRE}", User.objects.get(phone=CADRE)),
        (f"superuser {SUPERUSER}", User.objects.get(phone=SUPERUSER)),
    ]
    say(
        f"bench_registry: {Resident.objects.count():,} residents in "
        f"{Household.objects.count():,} households"
    )
    measure_search(users, repeat)
    measure_reports(users, repeat)
    explain(users)
    if name_grams:
        measure_name_grams(users, repeat)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per query")
    parser.add_argument("--keep-db", action="store_true", help=f"do not drop {DATABASE}")
    parser.add_argument(
        "--no-grams-compare",
        action="store_true",
        help="skip comparing the name-grams index with a plain LIKE",
    )
    parser.add_argument(
        "--seed-timeout", type=float, default=3600, help="give up seeding after this many s"
    )
    args = parser.parse_args(argv)
    problem = reachable()
    if problem:
        say(f"bench_registry: not run. {problem}")
        return 0
    env = env_for(DATABASE)
    started = time.monotonic()
    try:
        prepare(DATABASE, env, timeout=args.seed_timeout)
        measure(env, max(1, args.repeat), name_grams=not args.no_grams_compare)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        say(f"bench_registry: failed: {exc}")
    finally:
        if not args.keep_db:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: BLE001, S110 - Django may not be set up yet
                pass
            drop_database(DATABASE, "bench_registry")
    say(f"bench_registry: done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
