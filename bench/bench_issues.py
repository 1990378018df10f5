"""Issue reporting under load: 100,000 reports, gunicorn + wrk (PostgreSQL, Redis).

``python bench/bench_issues.py`` (also run by ``make bench`` after the HTTP figures):

1. creates ``linli_bench_issues_<pid>``, migrates it, loads the normal demo
   (``seed_demo --force``), then bulk-inserts reports until there are ``--reports``
   (100,000) of them over the four demo neighbourhoods (a quarter in the demo
   resident's), with the fields the services set (handler, deadlines, statuses);
   ``VACUUM ANALYZE``;
2. makes a signed-in session of the verified demo resident 13800000004 and an API key
   with ``issues:read`` on the demo district (``bench/prepare.py``'s session helper);
3. starts gunicorn (``config.settings.bench``, 2 × cores + 1 sync workers) and measures,
   as ``bench/run.py`` does (preflight, 2 s warm-up, 10 s of wrk at 16 and 1
   connections): the ceiling ``/healthz``, the resident's report list ``/issues/``
   (one page of the neighbourhood's ~25,000 reports) and the API list
   ``/api/v1/reports/?page_size=50`` (a page of 50 of the district's 100,000);
4. prints requests/s, p50, p99 and the share of the ceiling of each (target: at least
   10 %), and for a target under it a short in-process profile (cProfile of 30 requests
   through Django's test client: where the time goes);
5. drops the database (``--keep-db`` keeps it) and empties Redis database 15.

Without wrk, PostgreSQL or Redis it says so and exits 0. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402 - the HTTP bench's server, wrk and report helpers
from figures import Target, report  # noqa: E402
from pgutil import admin_sql, drop_database, say  # noqa: E402

RESIDENT, DISTRICT = "13800000004", "宝山区"
TARGET_SHARE = 0.10
PROFILE_REQUESTS = 30
LIST_MARKER = 'class="issue-list"'


# --- inside Django (a subprocess with the bench settings) ------------------------------------


def _inside_setup():
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def fill(total: int) -> int:
    """Bulk-insert reports until there are ``total``; returns how many were added."""
    import datetime
    import itertools
    import random

    from django.db import transaction
    from django.utils import timezone

    from buildings.demo import demo_neighbourhoods
    from buildings.models import Building
    from issues.models import Category, HandlerLevel, Issue, Source, Status

    have = Issue.objects.count()
    if have >= total:
        return 0
    rng = random.Random(20260401)
    neighbourhoods = demo_neighbourhoods()
    first = neighbourhoods[0].pk
    buildings = list(
        Building.objects.filter(neighbourhood__in=neighbourhoods).select_related("estate")
    )
    categories = list(Category.objects.filter(active=True))
    now = timezone.now()
    statuses = [
        (Status.SUBMITTED, 1),
        (Status.ACKNOWLEDGED, 1),
        (Status.IN_PROGRESS, 2),
        (Status.RESOLVED, 1),
        (Status.CLOSED, 5),
    ]
    names, weights = zip(*statuses, strict=True)

    serial = itertools.count(have)

    def rows(count):
        for _n in range(count):
            index = next(serial)
            building = rng.choice(buildings)
            category = rng.choice(categories)
            created = now - datetime.timedelta(minutes=rng.uniform(10, 365 * 24 * 60))
            status = rng.choices(names, weights)[0]
            level = category.handler_kind
            company = building.estate.property_company_id
            if level == HandlerLevel.PROPERTY and company is None:
                level = HandlerLevel.COMMITTEE
            done = status in (Status.RESOLVED, Status.CLOSED)
            ack = created + datetime.timedelta(hours=category.acknowledge_hours)
            yield Issue(
                category=category,
                description=f"压测报事 {index}",
                source=Source.HOTLINE,
                external_id=f"BENCH-{index:07d}",
                building=building,
                estate_id=building.estate_id,
                neighbourhood_id=building.neighbourhood_id,
                subdistrict_id=building.subdistrict_id,
                district_id=building.district_id,
                status=status,
                handler_level=level,
                property_company_id=company if level == HandlerLevel.PROPERTY else None,
                acknowledge_due=ack,
                resolve_due=created + datetime.timedelta(hours=category.resolve_hours),
                due_at=None if done else ack,
                acknowledged_at=None if status == Status.SUBMITTED else ack,
                resolved_at=created + datetime.timedelta(hours=30) if done else None,
                rating=rng.randint(1, 5) if status == Status.CLOSED else None,
                upvote_count=rng.randint(0, 9),
                activity_at=created,
            )

    # a quarter of them in the resident's neighbourhood (the list page's), the rest spread
    buildings_first = [b for b in buildings if b.neighbourhood_id == first]
    add = total - have
    batch = 5000
    started = time.monotonic()
    with transaction.atomic():
        done = 0
        while done < add:
            size = min(batch, add - done)
            chunk = list(rows(size))
            for row in chunk[: size // 4]:
                building = rng.choice(buildings_first)
                row.building, row.estate_id = building, building.estate_id
                row.neighbourhood_id = building.neighbourhood_id
                row.subdistrict_id, row.district_id = building.subdistrict_id, building.district_id
                company = building.estate.property_company_id
                if row.handler_level == HandlerLevel.PROPERTY and company is None:
                    row.handler_level = HandlerLevel.COMMITTEE
                row.property_company_id = (
                    company if row.handler_level == HandlerLevel.PROPERTY else None
                )
            Issue.objects.bulk_create(chunk, batch_size=batch)
            done += size
    print(f"  {add:,} reports inserted in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return add


def credentials() -> dict:
    import prepare  # the bench's session helper (a real, OTP-verified session)
    from django.contrib.auth import get_user_model

    from buildings.models import District
    from core.services import api_key_create

    users = get_user_model().objects
    resident = users.get(phone=RESIDENT)
    district = District.objects.get(name=DISTRICT)
    _key, full = api_key_create(name="bench issues", scopes=["issues:read"], place=district)
    return {
        "resident_cookie": prepare.session_cookie(resident),
        "api_header": f"Authorization: Api-Key {full}",
        "verified": bool(resident.verified),
    }


def profile(path: str, header: str) -> None:
    """cProfile of PROFILE_REQUESTS requests of ``path`` through the test client."""
    import cProfile
    import pstats

    from django.test import Client

    name, _sep, value = header.partition(":")
    extra = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "127.0.0.1"}
    client = Client()
    if name.strip().lower() == "cookie":
        cookie_name, _eq, cookie_value = value.strip().partition("=")
        client.cookies[cookie_name] = cookie_value
    else:
        extra["HTTP_" + name.strip().upper().replace("-", "_")] = value.strip()
    client.get(path, secure=True, **extra)  # warm
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(PROFILE_REQUESTS):
        client.get(path, secure=True, **extra)
    profiler.disable()
    took = (time.perf_counter() - started) * 1000 / PROFILE_REQUESTS
    print(f"  in-process: {took:.1f} ms a request ({path})")
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(r"/work/main/(issues|core|residents|buildings|accounts)/", 12)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    _slowest_queries(client, path, extra)


def _slowest_queries(client, path: str, extra: dict) -> None:
    """The queries of one request, the slowest first (SQL shortened)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(path, secure=True, **extra)
    queries = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
    total = sum(float(q["time"]) for q in queries) * 1000
    print(f"  {len(queries)} queries, {total:.1f} ms in the database; the slowest:")
    for query in queries[:6]:
        print(f"    {float(query['time']) * 1000:7.1f} ms  {query['sql'][:400]}")


def inside(argv) -> int:
    _inside_setup()
    command = argv[0]
    if command == "fill":
        print(json.dumps({"added": fill(int(argv[1]))}))
    elif command == "credentials":
        print(json.dumps(credentials()))
    elif command == "profile":
        profile(argv[1], argv[2])
    return 0


# --- outside: the run ------------------------------------------------------------------------


def _inside(env, *args: str, timeout: int = 1800) -> str:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--inside", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.stderr.strip():
        say(done.stderr.strip()[-2000:])
    if done.returncode != 0:
        raise RuntimeError(f"bench_issues --inside {args[0]} failed")
    return done.stdout


def targets_for(creds: dict) -> list[Target]:
    proxy = run.PROXY_HEADERS
    return [
        Target("ceiling", "/healthz", "ceiling: bare view, JSON", proxy, "application/json"),
        Target(
            "list",
            "/issues/",
            "resident's report list (page 1)",
            [*proxy, f"Cookie: {creds['resident_cookie']}"],
            "text/html",
            marker=LIST_MARKER,
        ),
        # named "api": run.preflight checks it answers a page of 50 rows
        Target(
            "api",
            "/api/v1/reports/?page_size=50",
            "API report list, district key",
            [*proxy, creds["api_header"]],
            "application/json",
        ),
    ]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--connections", type=run._connections, default=[16, 1])
    parser.add_argument("--duration", type=int, default=10, choices=range(1, 11))
    parser.add_argument("--warmup", type=int, default=2)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser.add_argument("--workers", type=int, default=2 * cores + 1)
    parser.add_argument("--threads-wrk", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--inside"]:
        return inside(argv[1:])
    args = parse_args(argv)
    problem = run.missing_prerequisite()
    if problem:
        say(f"bench_issues: not run. {problem}")
        return 0
    database = f"linli_bench_issues_{os.getpid()}"
    env = run.django_env(database)
    workdir = Path(tempfile.mkdtemp(prefix="linli-bench-issues-"))
    server = None
    try:
        started = time.monotonic()
        say(f"bench_issues: database {database}, logs in {workdir}")
        run.prepare_normal(database, env)
        run.manage(env, "collectstatic", "--noinput", "-v0")
        added = json.loads(_inside(env, "fill", str(args.reports)).splitlines()[-1])["added"]
        admin_sql("VACUUM ANALYZE", database=database)
        creds = json.loads(_inside(env, "credentials").splitlines()[-1])
        rows = admin_sql("SELECT count(*) FROM issues_issue", database=database)[0][0]
        say(
            f"bench_issues: ready in {time.monotonic() - started:.0f} s "
            f"({rows:,} reports, {added:,} bulk-inserted)"
        )
        port = run.free_port()
        base = f"http://{run.HOST}:{port}"
        server = run.start_gunicorn(
            env,
            port=port,
            workers=args.workers,
            worker_class="sync",
            threads=1,
            log_path=workdir / "gunicorn.log",
        )
        run.wait_until_up(base + "/healthz", server)
        targets = targets_for(creds)
        figures = run.measure(base, targets, args)
        run.stop(server)
        server = None
        report(
            figures,
            f"Linli bench, issue reporting ({rows:,} reports): gunicorn {args.workers} sync "
            f"workers, PostgreSQL + Redis on loopback, {args.duration} s per target",
        )
        low = verdicts(figures)
        if low and not args.no_profile:
            by_name = {t.name: t for t in targets}
            for name in sorted(low):
                target = by_name[name]
                say(f"\nbench_issues: where the time goes, {target.what}")
                say(_inside(env, "profile", target.path, target.headers[-1]).rstrip())
    finally:
        run.stop(server)
        if not args.keep_db:
            drop_database(database, "bench_issues")
        try:
            import redis

            redis.Redis.from_url(run.REDIS_URL).flushdb()
        except Exception as exc:  # noqa: BLE001 - cleaning up must not hide the figures
            say(f"bench_issues: could not empty {run.REDIS_URL}: {exc}")
    return 0


def verdicts(figures) -> set[str]:
    """Print each target's share of the ceiling against the 10 % aim; the low ones."""
    low = set()
    say("")
    for figure in figures:
        if figure.target == "ceiling":
            continue
        if figure.skipped or figure.ratio is None:
            say(f"  {figure.what}, {figure.connections} conn.: n/a ({figure.skipped})")
            continue
        ok = figure.ratio >= TARGET_SHARE
        say(
            f"  {figure.what}, {figure.connections} conn.: {figure.ratio:.1%} of the ceiling "
            f"({'PASS' if ok else 'below'} the {TARGET_SHARE:.0%} aim)"
        )
        if not ok:
            low.add(figure.target)
    return low


if __name__ == "__main__":
    sys.exit(main())
