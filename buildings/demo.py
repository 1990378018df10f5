"""Demo places for ``manage.py seed_demo``: Baoshan district (宝山区), Shanghai.

Normal scale: 2 subdistricts (友谊路街道, 庙行镇), 4 neighbourhoods, 10 estates,
100 buildings, 3,000 dwellings, property companies, elevators (retrofitted
加装 and original; some due for their annual inspection 年检 within 30 days,
a few overdue) and their inspection records.

District scale adds the rest of Baoshan: 12 subdistricts, 557 neighbourhoods and
about 400,000 dwellings, inserted in batches one subdistrict at a time (one
transaction each) so memory stays bounded and an interrupted run resumes.

Idempotent: places are found by their natural keys (names under their parent);
an estate that already has buildings is left alone.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from core.demo import DemoContext, person_name

from .models import (
    Building,
    District,
    Dwelling,
    Elevator,
    ElevatorInspection,
    Estate,
    Neighbourhood,
    PropertyCompany,
    Subdistrict,
    add_years,
)

DISTRICT_NAME, DISTRICT_CODE = "宝山区", "310113"


@dataclass
class EstateSpec:
    name: str
    address: str
    built_year: int
    company: str
    # (count, floors, flats per floor): buildings are numbered 1号楼, 2号楼 … in this order
    buildings: list[tuple[int, int, int]]

    @property
    def building_count(self) -> int:
        return sum(count for count, _f, _p in self.buildings)

    @property
    def dwelling_count(self) -> int:
        return sum(count * floors * per_floor for count, floors, per_floor in self.buildings)


@dataclass
class NeighbourhoodSpec:
    name: str
    address: str
    phone: str
    estates: list[EstateSpec] = field(default_factory=list)


@dataclass
class SubdistrictSpec:
    name: str
    code: str
    neighbourhoods: list[NeighbourhoodSpec] = field(default_factory=list)


# --- Normal scale: hand-written, 4 neighbourhoods, 10 estates, 100 buildings, 3,000 flats --

WALK_UP = (6, 4)  # six storeys, two stairwells of two flats: rooms 101..604

# property companies of the normal demo
BAOLIN = "上海宝林物业管理有限公司"
YONGJIA = "上海永嘉物业服务有限公司"
BAOCHENG = "上海宝城物业管理有限公司"
MIAOHANG = "上海庙行物业管理有限公司"
SHENGDA = "上海盛达物业服务有限公司"

NORMAL_PLAN = [
    SubdistrictSpec(
        "友谊路街道",
        "310113003",
        [
            NeighbourhoodSpec(
                "宝林一村居民区",
                "友谊路68弄40号",
                "021-56601234",
                [
                    EstateSpec("宝林一村", "友谊路68弄", 1984, BAOLIN, [(12, *WALK_UP)]),
                    EstateSpec("宝林二村", "宝林路150弄", 1987, BAOLIN, [(10, *WALK_UP)]),
                    EstateSpec("友谊新苑", "友谊路255弄", 2006, YONGJIA, [(3, 12, 4)]),
                ],
            ),
            NeighbourhoodSpec(
                "盘古路居民区",
                "盘古路388弄12号",
                "021-56605678",
                [
                    EstateSpec("盘古一村", "盘古路388弄", 1991, BAOCHENG, [(11, *WALK_UP)]),
                    EstateSpec("海江新村", "海江路100弄", 1995, BAOCHENG, [(9, 7, 4)]),
                ],
            ),
        ],
    ),
    SubdistrictSpec(
        "庙行镇",
        "310113103",
        [
            NeighbourhoodSpec(
                "共康雅苑居民区",
                "长江西路1500弄3号",
                "021-56481122",
                [
                    EstateSpec("共康雅苑", "长江西路1500弄", 2003, YONGJIA, [(6, 11, 4)]),
                    EstateSpec("共康四村", "共康路268弄", 1993, MIAOHANG, [(8, *WALK_UP)]),
                    EstateSpec("康家新村", "康宁路88弄", 1996, MIAOHANG, [(12, *WALK_UP)]),
                ],
            ),
            NeighbourhoodSpec(
                "场中居民区",
                "场中路3040弄1号",
                "021-56483344",
                [
                    EstateSpec("场中新村", "场中路3040弄", 1992, MIAOHANG, [(16, *WALK_UP)]),
                    EstateSpec("闻喜苑", "闻喜路1088弄", 2008, SHENGDA, [(9, 11, 4), (4, 18, 4)]),
                ],
            ),
        ],
    ),
]


def demo_neighbourhoods() -> list[Neighbourhood]:
    """The normal-scale neighbourhoods in creation order (neighbourhood 1 first)."""
    wanted = [(s.name, n.name) for s in NORMAL_PLAN for n in s.neighbourhoods]
    found = {
        (n.subdistrict.name, n.name): n
        for n in Neighbourhood.objects.filter(
            subdistrict__district__name=DISTRICT_NAME, name__in=[name for _s, name in wanted]
        ).select_related("subdistrict")
    }
    return [found[key] for key in wanted if key in found]


# --- District scale: the rest of Baoshan, generated ----------------------------------

# Baoshan's 3 subdistricts and 9 towns with their number of neighbourhoods (557 in all).
DISTRICT_SUBDISTRICTS = [
    ("友谊路街道", "310113003", 40),
    ("吴淞街道", "310113004", 25),
    ("张庙街道", "310113005", 38),
    ("庙行镇", "310113103", 30),
    ("淞南镇", "310113104", 40),
    ("高境镇", "310113105", 45),
    ("大场镇", "310113106", 85),
    ("杨行镇", "310113107", 55),
    ("顾村镇", "310113108", 70),
    ("罗店镇", "310113109", 55),
    ("月浦镇", "310113110", 40),
    ("罗泾镇", "310113111", 34),
]


def _words(text: str) -> list[str]:
    return text.split()


ROADS = _words(
    "牡丹江路 友谊路 宝林路 密山路 同济路 淞滨路 长江西路 共和新路 场中路 泰和路 通河路 呼兰路 "
    "聚丰园路 殷高西路 水产路 淞南路 长逸路 大华路 真华路 沪太路 场联路 杨行路 松兰路 富锦路 "
    "蕰川路 盘古路 海江路 双城路 克山路 永清路 美兰湖路 月罗路 月浦路 盛桥路 罗泾路 陈川路 宝杨路 "
    "漠河路 团结路 铁峰路 顾村路 菊太路 陆翔路 丹霞山路 锦秋路 祁连山路 纬地路 一二八纪念路"
)
ESTATE_STEMS = _words(
    "通河 泗塘 呼玛 乾溪 淞南 长江 高境 大华 行知 庙行 共康 杨泰 顾村 菊泉 罗店 美兰 月浦 盛桥 "
    "罗泾 吴淞 淞滨 宝钢 宝欣 宝乐 宝宸 锦秋 泰和 友谊 张庙 场北 真华 华灵 新梅 文化 聚丰 "
    "永乐 安亭 福临 和平 祥和 春申 金秋 丹霞 绿洲 滨江 馨苑 康桥 明珠 樱花 海尚 翔殷 上大 "
    "经纬 星城 悦庭 锦绣 宝翔 宝山 宝华 通江 纪念 长临 场中 新二"
)
OLD_SUFFIXES = ("一村", "二村", "三村", "四村", "五村", "六村", "七村", "新村", "小区")
NEW_SUFFIXES = ("苑", "花园", "家园", "雅苑", "佳苑", "名苑", "新苑", "公寓", "华庭", "绿苑")
COMPANIES = [
    f"上海{stem}物业{kind}有限公司"
    for stem, kind in zip(
        _words(
            "宝林 宝城 永嘉 庙行 盛达 淞沪 锦泰 长城 新华 安居 汇丰 宏达 申宝 吴淞 海阳 金桥 "
            "大华 顾村 罗店 月浦 杨行 高境 淞南 泰和 东湖 佳和 瑞康 明华 兴邦 万安 福瑞 嘉华"
        ),
        ("管理", "服务") * 16,
        strict=True,
    )
]
MAINTENANCE_COMPANIES = [
    ("上海宝达电梯工程有限公司", "021-56671001"),
    ("上海申菱电梯维保有限公司", "021-56672002"),
    ("上海宝林电梯安装维修有限公司", "021-56673003"),
    ("上海永通电梯工程有限公司", "021-56674004"),
    ("上海沪宝电梯技术服务有限公司", "021-56675005"),
]
INSPECTION_AGENCY = "上海市特种设备监督检验技术研究院"

# Building shapes (floors, flats per floor), old walk-ups and newer high-rises.
OLD_SHAPES = [(6, 4), (6, 4), (6, 4), (6, 2), (5, 4), (7, 4)]
NEW_SHAPES = [(6, 4), (11, 4), (11, 4), (14, 4), (18, 4), (18, 2), (24, 4)]


def _generated_neighbourhoods(ctx: DemoContext, name: str, count: int, taken: set[str]):
    rng = ctx.random("buildings", "district", name)
    neighbourhoods = []
    for _ in range(count):
        households = rng.randint(440, 900)
        estates = []
        n_estates = rng.choice((1, 2, 2, 3, 3, 3, 4))
        for share in _split(rng, households, n_estates):
            old = rng.random() < 0.6
            built = rng.randint(1980, 1999) if old else rng.randint(2000, 2020)
            while True:
                stem = rng.choice(ESTATE_STEMS)
                estate_name = stem + rng.choice(OLD_SUFFIXES if old else NEW_SUFFIXES)
                if estate_name not in taken:
                    taken.add(estate_name)
                    break
            shapes = OLD_SHAPES if old else NEW_SHAPES
            buildings, flats = [], 0
            while flats < share:
                floors, per_floor = rng.choice(shapes)
                buildings.append((1, floors, per_floor))
                flats += floors * per_floor
            estates.append(
                EstateSpec(
                    estate_name,
                    f"{rng.choice(ROADS)}{rng.randint(1, 250) * 10}弄",
                    built,
                    rng.choice(COMPANIES),
                    buildings,
                )
            )
        neighbourhoods.append(
            NeighbourhoodSpec(
                f"{estates[0].name}居民区",
                f"{estates[0].address}{rng.randint(1, 60)}号",
                f"021-56{rng.randint(100000, 999999)}",
                estates,
            )
        )
    return neighbourhoods


def _split(rng, total: int, parts: int) -> list[int]:
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    scale = total / sum(weights)
    return [max(1, round(w * scale)) for w in weights]


def district_plan(ctx: DemoContext):
    """The rest of Baoshan, one subdistrict at a time (generated lazily, deterministic)."""
    normal = {s.name: s for s in NORMAL_PLAN}
    for name, code, total in DISTRICT_SUBDISTRICTS:
        known = normal.get(name)
        taken = {e.name for n in known.neighbourhoods for e in n.estates} if known else set()
        count = total - (len(known.neighbourhoods) if known else 0)
        yield SubdistrictSpec(name, code, _generated_neighbourhoods(ctx, name, count, taken))


# --- Writing -----------------------------------------------------------------------


@dataclass
class _Totals:
    neighbourhoods: int = 0
    estates: int = 0
    buildings: int = 0
    dwellings: int = 0
    elevators: int = 0
    inspections: int = 0

    def __bool__(self):
        return any(vars(self).values())

    def __str__(self):
        return (
            f"{self.neighbourhoods:,} neighbourhoods, {self.estates:,} estates, "
            f"{self.buildings:,} buildings, {self.dwellings:,} dwellings, "
            f"{self.elevators:,} elevators, {self.inspections:,} inspections"
        )


def seed(ctx: DemoContext) -> None:
    district, _created = District.objects.get_or_create(
        name=DISTRICT_NAME, defaults={"code": DISTRICT_CODE}
    )
    totals = _Totals()
    plans = [NORMAL_PLAN]
    if ctx.is_district:
        plans.append(district_plan(ctx))
    for plan in plans:
        for spec in plan:
            with transaction.atomic():
                added = _seed_subdistrict(ctx, district, spec)
            for name in vars(totals):
                setattr(totals, name, getattr(totals, name) + getattr(added, name))
            ctx.log(
                f"  {spec.name}: added {added} ({ctx.elapsed():.1f} s)",
                level=1 if ctx.is_district and added else 2,
            )
    ctx.log(f"  places: added {totals}")


def _seed_subdistrict(ctx: DemoContext, district: District, spec: SubdistrictSpec) -> _Totals:
    added = _Totals()
    subdistrict, _created = Subdistrict.objects.get_or_create(
        district=district, name=spec.name, defaults={"code": spec.code}
    )

    neighbourhoods = {n.name: n for n in Neighbourhood.objects.filter(subdistrict=subdistrict)}
    new = [
        Neighbourhood(subdistrict=subdistrict, name=n.name, address=n.address, phone=n.phone)
        for n in spec.neighbourhoods
        if n.name not in neighbourhoods
    ]
    for n in ctx.bulk_insert(Neighbourhood, new, keep=True):
        neighbourhoods[n.name] = n
    added.neighbourhoods = len(new)

    companies = _companies(ctx, {e.company for n in spec.neighbourhoods for e in n.estates})

    estates = {
        (e.neighbourhood_id, e.name): e
        for e in Estate.objects.filter(neighbourhood__subdistrict=subdistrict)
    }
    new = []
    for n_spec in spec.neighbourhoods:
        neighbourhood = neighbourhoods[n_spec.name]
        for e_spec in n_spec.estates:
            if (neighbourhood.pk, e_spec.name) in estates:
                continue
            rng = ctx.random("buildings", "estate", spec.name, n_spec.name, e_spec.name)
            new.append(
                Estate(
                    neighbourhood=neighbourhood,
                    name=e_spec.name,
                    address=e_spec.address,
                    built_year=e_spec.built_year,
                    property_company=companies[e_spec.company],
                    # around Baoshan (31.30-31.45 N, 121.35-121.50 E)
                    latitude=Decimal(rng.randint(31300000, 31450000)).scaleb(-6),
                    longitude=Decimal(rng.randint(121350000, 121500000)).scaleb(-6),
                )
            )
    for e in ctx.bulk_insert(Estate, new, keep=True):
        estates[(e.neighbourhood_id, e.name)] = e
    added.estates = len(new)

    # The bulk part: only estates that have no buildings yet.
    seeded = set(
        Building.objects.filter(estate__neighbourhood__subdistrict=subdistrict)
        .values_list("estate_id", flat=True)
        .distinct()
    )
    to_fill = []
    for n_spec in spec.neighbourhoods:
        neighbourhood = neighbourhoods[n_spec.name]
        for e_spec in n_spec.estates:
            estate = estates[(neighbourhood.pk, e_spec.name)]
            if estate.pk not in seeded:
                to_fill.append((estate, e_spec, (spec.name, n_spec.name, e_spec.name)))
    if not to_fill:
        return added

    buildings, per_floor = [], []
    for estate, e_spec, _key in to_fill:
        number = 0
        for count, floors, flats in e_spec.buildings:
            for _ in range(count):
                number += 1
                buildings.append(
                    Building(
                        estate=estate,
                        neighbourhood_id=estate.neighbourhood_id,
                        number=f"{number}号楼",
                        floors=floors,
                        built_year=e_spec.built_year,
                    )
                )
                per_floor.append(flats)
    buildings = ctx.bulk_insert(Building, buildings, keep=True)
    added.buildings = len(buildings)
    flats_of = {b.pk: n for b, n in zip(buildings, per_floor, strict=True)}
    by_estate: dict[int, list[Building]] = {}
    for b in buildings:
        by_estate.setdefault(b.estate_id, []).append(b)
    keys = {estate.pk: key for estate, _e, key in to_fill}

    added.dwellings = ctx.bulk_insert(Dwelling, _dwellings(ctx, by_estate, flats_of, keys))
    elevators = ctx.bulk_insert(Elevator, _elevators(ctx, by_estate, flats_of, keys), keep=True)
    added.elevators = len(elevators)
    added.inspections = ctx.bulk_insert(ElevatorInspection, _inspections(ctx, elevators))
    return added


def _companies(ctx: DemoContext, names: set[str]) -> dict[str, PropertyCompany]:
    found = {c.name: c for c in PropertyCompany.objects.filter(name__in=names)}
    new = []
    for name in sorted(names - set(found)):
        rng = ctx.random("buildings", "company", name)
        new.append(
            PropertyCompany(
                name=name,
                credit_code=f"91310113{rng.randint(0, 10**9 - 1):09d}{rng.choice('0123456789X')}",
                contact_name=person_name(rng),
                phone=f"021-5{rng.randint(1000000, 9999999)}",
            )
        )
    for company in ctx.bulk_insert(PropertyCompany, new, keep=True):
        found[company.name] = company
    return found


def _dwellings(ctx, by_estate, flats_of, keys):
    for estate_id, buildings in by_estate.items():
        rng = ctx.random("buildings", "dwellings", *keys[estate_id])
        for building in buildings:
            old = (building.built_year or 2000) < 2000
            low, high = (4500, 9000) if old else (7000, 14000)
            # a flat's area is the same on every floor of its stairwell column
            areas = [
                Decimal(rng.randint(low, high)).scaleb(-2) for _ in range(flats_of[building.pk])
            ]
            for floor in range(1, building.floors + 1):
                for unit, area in enumerate(areas, start=1):
                    yield Dwelling(
                        building_id=building.pk,
                        estate_id=building.estate_id,
                        neighbourhood_id=building.neighbourhood_id,
                        room=f"{floor}{unit:02d}",
                        floor=floor,
                        floor_area=area,
                    )


RETROFIT_SHARE = 0.25  # old walk-ups that have had an elevator added (加装电梯)


def _elevators(ctx, by_estate, flats_of, keys):
    today = ctx.today
    for estate_id, buildings in by_estate.items():
        rng = ctx.random("buildings", "elevators", *keys[estate_id])
        company, phone = rng.choice(MAINTENANCE_COMPANIES)
        for building in buildings:
            built = building.built_year or 2000
            if building.floors >= 8:  # a high-rise: original elevators
                count, retrofitted = (2 if flats_of[building.pk] >= 4 else 1), False
            elif built < 2000 and rng.random() < RETROFIT_SHARE:
                count, retrofitted = 1, True
            else:
                continue
            for index in range(1, count + 1):
                elevator = Elevator(
                    building_id=building.pk,
                    estate_id=building.estate_id,
                    neighbourhood_id=building.neighbourhood_id,
                    device_code=f"3113{building.pk:08d}{index:02d}",
                    retrofitted=retrofitted,
                    maintenance_company=company,
                    maintenance_phone=phone,
                )
                if retrofitted and rng.random() < 0.15:  # still being built
                    elevator.status = Elevator.Status.UNDER_CONSTRUCTION
                    yield elevator
                    continue
                roll = rng.random()
                if roll < 0.06:  # overdue
                    offset = -rng.randint(1, 45)
                elif roll < 0.20:  # due within 30 days
                    offset = rng.randint(0, 30)
                else:
                    offset = rng.randint(31, 364)
                elevator.next_inspection_due = today + datetime.timedelta(days=offset)
                elevator.last_inspection = add_years(elevator.next_inspection_due, -1)
                if retrofitted:
                    elevator.installed_on = add_years(elevator.last_inspection, -rng.randint(0, 4))
                else:
                    elevator.installed_on = datetime.date(built, rng.randint(1, 12), 15)
                if rng.random() < 0.03:
                    elevator.status = Elevator.Status.UNDER_MAINTENANCE
                yield elevator


def _inspections(ctx, elevators):
    for elevator in elevators:
        if elevator.last_inspection is None:
            continue
        rng = ctx.random("buildings", "inspections", elevator.device_code)
        day = elevator.last_inspection
        for _ in range(2):  # the last one and the one before, if the elevator was there
            if elevator.installed_on and day < elevator.installed_on:
                break
            notes = rng.random() < 0.1
            yield ElevatorInspection(
                elevator_id=elevator.pk,
                neighbourhood_id=elevator.neighbourhood_id,
                inspected_on=day,
                result=(
                    ElevatorInspection.Result.PASSED_WITH_NOTES
                    if notes
                    else ElevatorInspection.Result.PASSED
                ),
                agency=INSPECTION_AGENCY,
                certificate_number=f"TSJ{day:%Y}-{elevator.pk:08d}",
                notes="门锁回路需整改，已复检合格" if notes else "",
            )
            day = add_years(day, -1)
