"""A 100,000-row Excel import on PostgreSQL: how long it takes and how much memory.

``python bench/bench_import.py`` (``--rows N`` for another size):

1. creates a fresh database ``linli_bench_import_<pid>`` on ``BENCH_PG_URL``
   (default ``postgres://postgres@127.0.0.1:5432``) and migrates it;
2. builds its own places - one neighbourhood, 10 estates, 200 buildings, 30,000
   dwellings - a cadre who manages it and the care tags, then writes N valid rows
   (households of 3 or 4 people: 户主, 配偶, 子女, 父母; well-formed made-up ID
   numbers, phones, care tags, dates) as an XLSX workbook and as a GBK CSV file;
3. runs, each step in a fresh process so that its peak memory is its own:
   the dry run (preview) of the XLSX file, the real import of the XLSX file, the
   re-import of the same rows as CSV (dry run and real: nothing to change), and
   the export of everyone to XLSX (masked);
4. prints rows/s, total time and peak memory (ru_maxrss) of each step, drops the
   database and exits 0. Without PostgreSQL it says so and exits 0.

The cadre's code path is the page's: ``residents.registry_io.import_registry`` with the
cadre as user (scope, validation, households, history, audit); only the HTTP upload
and the encrypted storage of the file between preview and confirm are left out.
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pgutil import PG_URL, admin_sql, drop_database, reachable, say  # noqa: E402

BENCH_KEY = base64.b64encode(hashlib.sha256(b"linli-bench-import").digest()).decode()
CADRE_PHONE = "13800009999"
ESTATES, BUILDINGS_PER_ESTATE, ROOMS_PER_BUILDING = 10, 20, 150
STEP_TIMEOUT = 420  # seconds; the whole run stays under 10 minutes on a 2-core machine

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红玉梅文斌宇浩凯婷雪琳晨阳欣怡子轩梓涵雨萱思远佳琪俊杰浩然一诺嘉怡"  # noqa: E501
RELATIONS = ("户主", "配偶", "子女", "父母")
TAG_NAMES = ("党员", "独居老人", "残疾", "低保", "退役军人", "重点关爱")


# --- the database ------------------------------------------------------------------------


def env_for(database: str, workdir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DEBUG="False",  # no query log: memory is the importer's own
        DATABASE_URL=f"{PG_URL}/{database}",
        ID_ENCRYPTION_KEYS=f"bench:{BENCH_KEY}",
        ID_HASH_KEY="linli-bench-import-hash-key",
        MEDIA_ROOT=str(Path(workdir) / "media"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_step(env, step: str, workdir: str, rows: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--step", step, "--workdir", workdir, "--rows", str(rows)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"step {step} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the steps (each in its own process, inside Django) ------------------------------------


def setup_django() -> None:
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def step_setup(workdir: str, rows: int) -> dict:
    """Places, the cadre, care tags; then the files."""
    from decimal import Decimal

    from django.db import transaction

    from accounts.models import Role, User
    from accounts.services import role_grant
    from buildings.models import Building, District, Dwelling, Estate, Neighbourhood, Subdistrict
    from residents.models import CareTag

    started = time.perf_counter()
    with transaction.atomic():
        district = District.objects.create(name="基准区")
        subdistrict = Subdistrict.objects.create(district=district, name="基准街道")
        neighbourhood = Neighbourhood.objects.create(subdistrict=subdistrict, name="基准居民区")
        estates = Estate.objects.bulk_create(
            Estate(neighbourhood=neighbourhood, name=f"基准{i + 1}村") for i in range(ESTATES)
        )
        buildings = Building.objects.bulk_create(
            Building(
                estate=estate,
                neighbourhood=neighbourhood,
                number=f"{b + 1}号楼",
                floors=(ROOMS_PER_BUILDING + 4) // 5,
            )
            for estate in estates
            for b in range(BUILDINGS_PER_ESTATE)
        )
        Dwelling.objects.bulk_create(
            (
                Dwelling(
                    building=building,
                    estate_id=building.estate_id,
                    neighbourhood=neighbourhood,
                    room=f"{r // 5 + 1}{r % 5 + 1:02d}",
                    floor=r // 5 + 1,
                    floor_area=Decimal("72.50"),
                )
                for building in buildings
                for r in range(ROOMS_PER_BUILDING)
            ),
            batch_size=5000,
        )
        for order, name in enumerate(TAG_NAMES, start=1):
            CareTag.objects.create(code=f"tag-{order}", name=name, sort_order=order)
        cadre = User.objects.create_user(CADRE_PHONE, "bench-only-password", name="基准干部")
        role_grant(user=cadre, role=Role.CADRE, place=neighbourhood)
    places_s = time.perf_counter() - started

    started = time.perf_counter()
    table = list(make_rows(rows))
    xlsx_path, csv_path = Path(workdir) / "residents.xlsx", Path(workdir) / "residents.csv"
    write_xlsx(table, xlsx_path)
    write_csv(table, csv_path)
    return {
        "step": "setup",
        "dwellings": Dwelling.objects.count(),
        "places_s": places_s,
        "files_s": time.perf_counter() - started,
        "xlsx_mb": xlsx_path.stat().st_size / 1e6,
        "csv_mb": csv_path.stat().st_size / 1e6,
        "peak_mb": peak_mb(),
    }


def make_rows(count: int):
    """``count`` valid rows: households of 4 then 3 people over the bench's dwellings."""
    from residents.idnumbers import compose_id_number
    from residents.registry_io import COLUMNS

    headers = [column.header for column in COLUMNS]
    dwellings = [
        (f"基准{e + 1}村", f"{b + 1}号楼", f"{r // 5 + 1}{r % 5 + 1:02d}")
        for e in range(ESTATES)
        for b in range(BUILDINGS_PER_ESTATE)
        for r in range(ROOMS_PER_BUILDING)
    ]
    fours = max(0, count - 3 * len(dwellings))  # dwellings with 4 people, the rest have 3
    yield headers
    made = 0
    for index, (estate, building, room) in enumerate(dwellings):
        size = 4 if index < fours else 3
        for member in range(size):
            if made == count:
                return
            n = made
            born = datetime.date(1935, 1, 1) + datetime.timedelta(days=(n // 1000) * 263)
            tags = [TAG_NAMES[k] for k in range(len(TAG_NAMES)) if n % (7 + 4 * k) == 0]
            values = {
                "小区": estate,
                "楼号": building,
                "室号": room,
                "姓名": SURNAMES[n % len(SURNAMES)]
                + GIVEN[(n // 7) % len(GIVEN)]
                + ("" if n % 3 else GIVEN[(n // 11) % len(GIVEN)]),
                "证件类型": "身份证",
                "证件号码": compose_id_number("319999", born, n % 1000),
                "手机号": f"139{n:08d}" if n % 5 else "",
                "与户主关系": RELATIONS[member],
                "居住状态": "户籍" if n % 4 else "常住",
                "国籍": "CN",
                "关爱标签": "、".join(tags),
                "独居": "否",
                "迁入日期": datetime.date(2005 + n % 15, 1 + n % 12, 1 + n % 28),
                "迁出日期": None,
            }
            yield [values.get(header) for header in headers]
            made += 1


def write_xlsx(table, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("居民")
    for row in table:
        sheet.append(row)
    book.save(path)


def write_csv(table, path: Path) -> None:
    with path.open("w", encoding="gbk", newline="") as handle:  # as Excel in China saves it
        writer = csv.writer(handle)
        for row in table:
            writer.writerow(["" if value is None else value for value in row])


def step_import(workdir: str, *, filename: str, dry_run: bool, label: str) -> dict:
    from accounts.models import User
    from residents.models import Household, Resident
    from residents.registry_io import import_registry

    cadre = User.objects.get(phone=CADRE_PHONE)
    data = (Path(workdir) / filename).read_bytes()
    before = Resident.objects.count(), Resident.history.count()
    started = time.perf_counter()
    result = import_registry(user=cadre, data=data, filename=filename, dry_run=dry_run)
    seconds = time.perf_counter() - started
    if result.file_error or result.errors:
        first = result.file_error or result.errors[:3]
        raise RuntimeError(f"{label}: the bench's rows are not valid: {first}")
    return {
        "step": label,
        "rows": result.rows,
        "seconds": seconds,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "households": result.households_created,
        "saved": result.saved,
        "residents_before": before[0],
        "residents_after": Resident.objects.count(),
        "history_added": Resident.history.count() - before[1],
        "households_total": Household.objects.count(),
        "peak_mb": peak_mb(),
    }


def step_export(workdir: str) -> dict:
    from accounts.models import User
    from residents.registry_io import write_export
    from residents.selectors import residents_visible_to

    cadre = User.objects.get(phone=CADRE_PHONE)
    queryset = residents_visible_to(user=cadre).order_by(
        "estate__name", "building__number", "dwelling__room", "household_id", "pk"
    )
    path = Path(workdir) / "export.xlsx"
    started = time.perf_counter()
    with path.open("wb") as handle:
        rows = write_export(user=cadre, queryset=queryset, full=False, fileobj=handle)
    return {
        "step": "export (masked XLSX)",
        "rows": rows,
        "seconds": time.perf_counter() - started,
        "mb": path.stat().st_size / 1e6,
        "peak_mb": peak_mb(),
    }


STEPS = {
    "dry-xlsx": lambda w: step_import(
        w, filename="residents.xlsx", dry_run=True, label="preview (dry run), XLSX"
    ),
    "import-xlsx": lambda w: step_import(
        w, filename="residents.xlsx", dry_run=False, label="import, XLSX"
    ),
    "dry-csv": lambda w: step_import(
        w, filename="residents.csv", dry_run=True, label="re-import preview, GBK CSV"
    ),
    "reimport-csv": lambda w: step_import(
        w, filename="residents.csv", dry_run=False, label="re-import, GBK CSV"
    ),
    "export": step_export,
}


def step_main(step: str, workdir: str, rows: int) -> int:
    setup_django()
    if step == "setup":
        figures = step_setup(workdir, rows)
    else:
        baseline = peak_mb()
        figures = STEPS[step](workdir)
        figures["baseline_mb"] = baseline
    print(json.dumps(figures))
    return 0


# --- the run -------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the file")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        return step_main(args.step, args.workdir, args.rows)

    problem = reachable()
    if problem:
        say(f"bench_import: not run. {problem}")
        return 0
    database = f"linli_bench_import_{os.getpid()}"
    workdir = tempfile.mkdtemp(prefix="linli-bench-import-")
    env = env_for(database, workdir)
    started = time.monotonic()
    try:
        admin_sql(f'CREATE DATABASE "{database}"')
        say(f"bench_import: database {database}, {args.rows:,} rows")
        subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), "migrate", "--noinput", "-v0"],
            cwd=BASE_DIR,
            env=env,
            check=True,
            timeout=300,
            capture_output=True,
        )
        setup = run_step(env, "setup", workdir, args.rows)
        say(
            f"  places: {setup['dwellings']:,} dwellings in {setup['places_s']:.1f} s; files "
            f"written in {setup['files_s']:.1f} s: XLSX {setup['xlsx_mb']:.1f} MB, "
            f"GBK CSV {setup['csv_mb']:.1f} MB"
        )
        admin_sql("VACUUM ANALYZE", database=database)
        say()
        say(
            f"{'step':<30}{'rows':>9}{'time':>9}{'rows/s':>9}{'peak MB':>9}"
            f"{'(idle MB)':>10}  result"
        )
        for step in ("dry-xlsx", "import-xlsx", "dry-csv", "reimport-csv", "export"):
            figures = run_step(env, step, workdir, args.rows)
            rate = figures["rows"] / figures["seconds"] if figures["seconds"] else 0
            if step == "export":
                outcome = f"{figures['mb']:.1f} MB written"
            else:
                outcome = (
                    f"new {figures['created']:,}, updated {figures['updated']:,}, unchanged "
                    f"{figures['unchanged']:,}, households {figures['households']:,}; "
                    f"residents {figures['residents_before']:,} → {figures['residents_after']:,}"
                    f", history +{figures['history_added']:,}"
                )
            say(
                f"{figures['step']:<30}{figures['rows']:>9,}{figures['seconds']:>8.1f}s"
                f"{rate:>9,.0f}{figures['peak_mb']:>9,.0f}{figures['baseline_mb']:>10,.0f}"
                f"  {outcome}"
            )
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        say(f"bench_import: failed: {exc}")
    finally:
        if not args.keep_db:
            drop_database(database, "bench_import")
        shutil.rmtree(workdir, ignore_errors=True)
    say(f"bench_import: done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
