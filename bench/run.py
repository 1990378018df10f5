"""`make bench`: Linli under gunicorn with production settings, measured with wrk.

1. creates a fresh PostgreSQL database (dropped at the end), migrates it and
   loads the normal demo (``seed_demo --force``), runs collectstatic, ANALYZE;
2. starts gunicorn with ``config.settings.bench`` (production, plus the bare floor
   of ``bench/bareview.py``) on a free loopback port (2 × cores + 1 workers), Redis
   database 15 as cache and session store;
3. for each target and each connection count (16 and 1): checks one request
   answers 200 with the right content type, warms up, then runs wrk for 10 s and
   prints requests/s, latency p50/p99 and the ratios to the ceiling (/healthz, a
   fixed small JSON) and to the same-work floor (the API's page query, bare: no
   DRF, no auth, no middleware);
4. only with ``--scale district``, does the same again on the district-scale demo,
   in the kept database of ``bench/bench_registry.py`` (seeded on first use), then
   prints the district ÷ normal table of p50 at 1 connection (PASS at most 1.2×)
   for the API list, the resident changelist and the home page of the district
   cadre;
5. stops gunicorn, drops the database, empties Redis database 15, exits 0;
6. runs ``bench_registry.py`` and ``bench_import.py`` - unless the run is a short
   check (``--smoke``, ``--duration`` under 10 s) or ``--no-extra``.

Only 127.0.0.1 is loaded. Missing tools (wrk, PostgreSQL, Redis) are reported
and the run exits 0 without figures. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_registry  # noqa: E402
import loadgen  # noqa: E402
from bareview import BARE_PATH  # noqa: E402
from figures import (  # noqa: E402, F401 - run.X names kept for callers and tests
    SCALE_RATIO_CONNECTIONS,
    SCALE_RATIO_LIMIT,
    SCALE_RATIO_TARGETS,
    Figure,
    ScaleRatio,
    Target,
    _ms,
    report,
    report_ratios,
    scale_ratios,
    shares,
)
from pgutil import PG_URL, admin_sql, drop_database, say  # noqa: E402

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
HOST = "127.0.0.1"
# Behind the production proxy every request arrives as HTTPS (SECURE_SSL_REDIRECT stays on).
PROXY_HEADERS = ["X-Forwarded-Proto: https"]
RESIDENT_CHANGELIST = "/admin/residents/resident/"
# district ÷ normal, p50 at 1 connection: the most a target may slow down on district data
# --- prerequisites ---------------------------------------------------------------------


def missing_prerequisite() -> str | None:
    if loadgen.wrk_path() is None:
        return (
            "wrk is not installed; install it with `sudo apt-get install wrk` (Debian/Ubuntu)\n"
            "or `brew install wrk` (macOS), then run `make bench` again."
        )
    try:
        import psycopg

        with psycopg.connect(f"{PG_URL}/postgres", connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL is not reachable at {PG_URL} ({exc}); set BENCH_PG_URL."
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis is not reachable at {REDIS_URL} ({exc}); set BENCH_REDIS_URL."
    return None


# --- database and server ---------------------------------------------------------------


def django_env(database: str, *, kept: bool = False) -> dict[str, str]:
    """The bench server's environment; ``kept``: the district database of
    bench_registry.py, whose identifiers are encrypted with its fixed bench keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    if kept:
        id_keys, hash_key = f"bench:{bench_registry.BENCH_KEY}", bench_registry.BENCH_HASH_KEY
    else:
        id_keys = f"bench:{base64.b64encode(secrets.token_bytes(32)).decode()}"
        hash_key = secrets.token_urlsafe(32)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.bench",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"{PG_URL}/{database}",
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL=REDIS_URL,
        ID_ENCRYPTION_KEYS=id_keys,
        ID_HASH_KEY=hash_key,
        # Measure throughput, not the request budgets (the throttle's cache work still runs).
        API_KEY_THROTTLE="100000000/min",
        API_USER_THROTTLE="100000000/min",
        API_ANON_THROTTLE="100000000/min",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: int = 600) -> str:
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_gunicorn(env, *, port, workers, worker_class, threads, log_path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        f"--bind={HOST}:{port}",
        f"--workers={workers}",
        f"--worker-class={worker_class}",
        "--log-level=warning",
        "--timeout=30",
        "--graceful-timeout=5",
    ]
    if worker_class == "gthread":
        command.append(f"--threads={threads}")
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=log, stderr=log, start_new_session=True
    )
    process.log_file = log
    return process


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    process.log_file.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, headers: list[str]) -> tuple[int, str, bytes]:
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError("the bench only talks to the loopback interface")
    request = urllib.request.Request(url)  # noqa: S310 - checked just above
    for header in headers:
        name, _sep, value = header.partition(":")
        request.add_header(name.strip(), value.strip())
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            if fetch(url, [])[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def preflight(base: str, target: Target) -> str | None:
    """None if one request of ``target`` gets a 200 of the expected type, else why not."""
    status, content_type, body = fetch(base + target.path, target.headers)
    if status != 200:
        return f"HTTP {status} on {target.path}"
    if not content_type.startswith(target.expect):
        return f"unexpected Content-Type {content_type!r}"
    if target.marker and target.marker.encode() not in body:
        return f"the page does not hold {target.marker!r}"
    if target.name in ("api", "bare"):
        rows = json.loads(body).get("results")
        if not isinstance(rows, list) or len(rows) != 50:
            return f"expected a page of 50 rows, got {len(rows or [])}"
    return None


# --- the run ---------------------------------------------------------------------------


def same_page(base, api: Target, bare: Target) -> str | None:
    """None if the floor answers the very rows of the API's first page, else why not."""
    pages = []
    for target in (api, bare):
        status, _type, body = fetch(base + target.path, target.headers)
        if status != 200:
            return f"HTTP {status} on {target.path}"
        pages.append([row["id"] for row in json.loads(body)["results"]])
    return None if pages[0] == pages[1] else "the floor's rows differ from the API's page"


def measure(base, targets, args) -> list[Figure]:
    figures = []
    skipped = {}
    for target in targets:
        problem = preflight(base, target)
        if problem:
            skipped[target.name] = problem
            say(f"  {target.what}: skipped ({problem})")
    by_name = {t.name: t for t in targets}
    if not skipped.keys() & {"api", "bare"} and {"api", "bare"} <= by_name.keys():
        problem = same_page(base, by_name["api"], by_name["bare"])
        if problem:
            skipped["bare"] = problem
            say(f"  {by_name['bare'].what}: skipped ({problem})")
    for connections in args.connections:
        threads = max(1, min(args.threads_wrk, connections))
        level = []
        for target in targets:
            figure = Figure(target.name, target.path, target.what, connections=connections)
            figures.append(figure)
            level.append(figure)
            if target.name in skipped:
                figure.skipped = skipped[target.name]
                continue
            run = dict(threads=threads, connections=connections, headers=target.headers)
            if args.warmup > 0:
                loadgen.run(base + target.path, duration=args.warmup, **run)
            result = loadgen.run(base + target.path, duration=args.duration, **run)
            problem = preflight(base, target)  # wrk counts a 3xx as success: check again
            if problem:
                figure.skipped = f"after the run: {problem}"
            figure.requests_per_second = result.requests_per_second
            figure.p50_ms, figure.p99_ms = result.p50_ms, result.p99_ms
            figure.requests, figure.errors = result.requests, result.errors
            say(
                f"  {target.what}, {connections} conn.: {result.requests_per_second:,.0f} req/s "
                f"(p50 {_ms(result.p50_ms)}, p99 {_ms(result.p99_ms)}, errors {result.errors})"
            )
        shares(level)
    return figures


def _connections(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("connection counts are positive integers, e.g. 16,1")
    return values


def parse_args(argv):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--worker-class",
        choices=["sync", "gthread", "both"],
        default="sync",
        help="sync (default): the pages are CPU-bound Python, threads add no throughput "
        "on them (see bench/README.md); both: measure each",
    )
    parser.add_argument("--workers", type=int, default=2 * (cores or 1) + 1)
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--duration",
        type=int,
        default=loadgen.MAX_DURATION,
        help=f"seconds of wrk per target and connection count (1-{loadgen.MAX_DURATION}, "
        "default the maximum); under the maximum the run is a short check, which skips "
        "bench_registry.py and bench_import.py",
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up (0: none)")
    parser.add_argument(
        "--connections",
        type=_connections,
        default=[16, 1],
        help="wrk connection counts, comma-separated (default 16,1)",
    )
    parser.add_argument("--threads-wrk", type=int, default=2)
    parser.add_argument(
        "--scale",
        choices=["normal", "district"],
        default="normal",
        help="normal (default): the normal demo only; district: also measure on the "
        "district-scale demo (~400,000 dwellings; the kept database "
        f"{bench_registry.DATABASE}, seeded in several minutes on first use) and print "
        "the district ÷ normal table",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a short check that every target answers and wrk reads it: "
        "--duration 1 --warmup 0 --connections 1, no bench_registry.py/bench_import.py",
    )
    parser.add_argument(
        "--no-extra",
        action="store_true",
        help="do not run bench_registry.py and bench_import.py after the HTTP figures",
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="do not drop the databases (the normal one, and the district one after "
        "bench_registry.py)",
    )
    args = parser.parse_args(argv)
    args.cores = cores
    if args.smoke:
        args.duration, args.warmup, args.connections = 1, 0, [1]
    args.duration = max(1, min(args.duration, loadgen.MAX_DURATION))
    args.warmup = max(0, args.warmup)
    # bench_registry.py seeds (and drops) the district database: a full run only
    args.extra = not (args.no_extra or args.smoke or args.duration < loadgen.MAX_DURATION)
    return args


def prepare_normal(database: str, env) -> None:
    admin_sql(f'CREATE DATABASE "{database}"')
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--force", "-v0")


def prepare_district(database: str, env) -> None:
    # bench_registry's own preparation: created if absent, migrated, seeded (idempotent,
    # resumes an interrupted seed), VACUUM ANALYZE.
    bench_registry.prepare(database, bench_registry.env_for(database), timeout=3600)


def credentials(env) -> dict:
    # The district cadre at both scales: its pages are compared district ÷ normal.
    command = [sys.executable, str(BASE_DIR / "bench" / "prepare.py"), "--district-cadre"]
    done = subprocess.run(
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def targets_for(creds: dict) -> list[Target]:
    """The same targets at both scales (the API key is on the demo district)."""
    api_headers = [*PROXY_HEADERS]
    if creds.get("api_header"):
        api_headers.append(creds["api_header"])
    elif creds.get("api_cookie"):
        api_headers.append(f"Cookie: {creds['api_cookie']}")
    targets = [
        Target(
            "ceiling", "/healthz", "ceiling: bare view, JSON", PROXY_HEADERS, "application/json"
        ),
        Target(
            "bare",
            BARE_PATH,
            "floor: same page query, bare",
            PROXY_HEADERS,
            "application/json",
        ),
        Target(
            "api",
            "/api/v1/dwellings/?page_size=50",
            "API list, district key",
            api_headers,
            "application/json",
        ),
        Target(
            "home",
            "/",
            "home page, cadre 13800000002",
            [*PROXY_HEADERS, f"Cookie: {creds['cadre_cookie']}"],
            "text/html",
        ),
        # what every signed-in page pays before its own work: session, user, OTP device,
        # two-factor check, and the header badge's one count (a fragment, no base template)
        Target(
            "signed_in",
            "/notifications/badge/",
            "signed-in floor, cadre",
            [*PROXY_HEADERS, f"Cookie: {creds['cadre_cookie']}"],
            "text/html",
        ),
    ]
    district_cadre = [*PROXY_HEADERS, f"Cookie: {creds['district_cadre_cookie']}"]
    targets += [
        Target("home_district", "/", "home page, district cadre", district_cadre, "text/html"),
        Target(
            "changelist_district",
            RESIDENT_CHANGELIST,
            "resident changelist, district cadre",
            district_cadre,
            "text/html",
            marker='id="changelist"',
        ),
    ]
    return targets


def run_scale(scale: str, args, workdir: Path, all_figures: dict) -> None:
    district = scale == "district"
    database = bench_registry.DATABASE if district else f"linli_bench_{os.getpid()}"
    env = django_env(database, kept=district)
    started = time.monotonic()
    server = None
    try:
        say(f"bench: {scale} scale, database {database}")
        (prepare_district if district else prepare_normal)(database, env)
        manage(env, "collectstatic", "--noinput", "-v0")
        # planner statistics, as production's autovacuum keeps them after a bulk load
        admin_sql("VACUUM ANALYZE", database=database)
        creds = credentials(env)
        env["LINLI_BENCH_BARE_KEY_PREFIX"] = creds.get("api_key_prefix") or ""
        rows = admin_sql("SELECT count(*) FROM buildings_dwelling", database=database)[0][0]
        say(f"bench: ready in {time.monotonic() - started:.0f} s ({rows:,} dwellings)")
        say(f"bench: the API is called with {creds.get('api_auth')}")
        targets = targets_for(creds)

        classes = ["sync", "gthread"] if args.worker_class == "both" else [args.worker_class]
        for worker_class in classes:
            port = free_port()
            base = f"http://{HOST}:{port}"
            shape = f"{args.workers} {worker_class} workers"
            if worker_class == "gthread":
                shape += f" × {args.threads} threads"
            say(f"bench: gunicorn, {shape}, on {base}")
            server = start_gunicorn(
                env,
                port=port,
                workers=args.workers,
                worker_class=worker_class,
                threads=args.threads,
                log_path=workdir / f"gunicorn-{scale}-{worker_class}.log",
            )
            wait_until_up(base + "/healthz", server)
            figures = measure(base, targets, args)
            stop(server)
            server = None
            all_figures[f"{scale}/{worker_class}"] = figures
            report(
                figures,
                f"Linli bench, {scale} scale ({rows:,} dwellings): gunicorn {shape}, "
                f"{args.cores} CPU cores shared with wrk ({args.threads_wrk} threads), "
                f"PostgreSQL + Redis on loopback, {args.duration} s per target",
            )
    finally:
        stop(server)
        # the district database is bench_registry.py's: it runs next and drops it
        if not district and not args.keep_db:
            drop_database(database, "bench", quiet=True)


def compare_scales(all_figures: dict) -> dict[str, list[ScaleRatio]]:
    """The district ÷ normal table of each worker class measured at both scales."""
    ratios = {}
    for key, district in all_figures.items():
        scale, _sep, worker_class = key.partition("/")
        normal = all_figures.get(f"normal/{worker_class}")
        if scale != "district" or normal is None:
            continue
        ratios[worker_class] = scale_ratios(normal, district)
        report_ratios(ratios[worker_class], f"{worker_class} workers")
    return ratios


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = missing_prerequisite()
    if problem:
        say(f"bench: not run. {problem}")
        return 0

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > args.cores / 2:
        say(
            f"bench: warning: load average {load:.1f} on {args.cores} cores; "
            "other work on this machine will lower the figures"
        )
    workdir = Path(tempfile.mkdtemp(prefix="linli-bench-"))
    started = time.monotonic()
    all_figures = {}
    say(f"bench: logs in {workdir}")
    scales = ["normal", "district"] if args.scale == "district" else ["normal"]
    ratios = {}
    try:
        for scale in scales:
            run_scale(scale, args, workdir, all_figures)
        ratios = compare_scales(all_figures)
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        out = RESULTS_DIR / f"bench-{datetime.now():%Y%m%d-%H%M%S}.json"
        out.write_text(
            json.dumps(
                {
                    "when": datetime.now().isoformat(timespec="seconds"),
                    "cores": args.cores,
                    "load_average_before": round(load, 2),
                    "workers": args.workers,
                    "threads": args.threads,
                    "connections": args.connections,
                    "duration": args.duration,
                    "scales": scales,
                    "figures": {k: [asdict(f) for f in v] for k, v in all_figures.items()},
                    "scale_ratios": {k: [asdict(r) for r in v] for k, v in ratios.items()},
                    "scale_ratio_limit": SCALE_RATIO_LIMIT,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        say(f"\nbench: figures saved to {out.relative_to(BASE_DIR)}")
    finally:
        try:
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()
        except Exception as exc:  # noqa: BLE001
            say(f"bench: could not empty {REDIS_URL}: {exc}")
    say(f"bench: done in {time.monotonic() - started:.0f} s")
    if args.extra:
        run_extra_benchmarks(keep_db=args.keep_db)
    else:
        say("bench: bench_registry.py and bench_import.py not run (short check or --no-extra)")
    return 0


# Benchmarks with their own data, run after the HTTP one (each prints its figures, exits 0).
EXTRA_BENCHMARKS = ["bench_registry.py", "bench_import.py", "bench_issues.py"]


def run_extra_benchmarks(keep_db: bool = False) -> None:
    for script in EXTRA_BENCHMARKS:
        path = BASE_DIR / "bench" / script
        if path.exists():
            say(f"\nbench: {script}")
            extra = ["--keep-db"] if keep_db else []
            subprocess.run([sys.executable, str(path), *extra], cwd=BASE_DIR, check=False)


if __name__ == "__main__":
    sys.exit(main())
