"""Made-up people for the demo registry: households, names, ID numbers, phones, care tags.

Pure Python (no database): ``residents.demo`` turns these plans into rows. All
randomness comes from the ``random.Random`` passed in, so a seed gives the same
people every time.

* Households of 1-5 people with realistic relations (户主 head, spouse, children,
  the head's parents, a child's spouse and grandchild), by tenure: owners, tenants
  (租住), non-residents (外来) and a few foreign families with passports.
* Names: Shanghai surnames by rough frequency, given names of the person's
  generation and gender; children take their father's surname.
* Ages: an old city - about a quarter of the people are 60 or more, some 90+.
* ID numbers (GB 11643) with correct check digits and birth dates matching the
  age, under region codes no real person has (``318000``-``319998``, or
  ``xx8000``-``xx9998`` in other provinces for people from elsewhere), unique
  for every serial number below :data:`UNIQUE_SERIALS`.
"""

from __future__ import annotations

import datetime
import random
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate

from buildings.models import add_years

from .idnumbers import compose_id_number
from .models import IdType, Relation, ResidenceStatus, Tenure

# --- care tags: (code, name, description) in display order ----------------------------------

PARTY_MEMBER, ELDERLY_ALONE, DISABLED = "party-member", "elderly-alone", "disabled"
LOW_INCOME, VETERAN, KEY_CARE = "low-income", "veteran", "key-care"
CARE_TAGS = [
    (PARTY_MEMBER, "党员", "中国共产党党员"),
    (ELDERLY_ALONE, "独居老人", "60 岁以上、独自居住"),
    (DISABLED, "残疾", "持残疾人证"),
    (LOW_INCOME, "低保", "享受最低生活保障"),
    (VETERAN, "退役军人", "退役军人"),
    (KEY_CARE, "重点关爱", "需要居委会定期走访"),
]

# --- names ------------------------------------------------------------------------------------


def _weighted(spec: str) -> tuple[list[str], list[float]]:
    """``"王:7 李:6.5 …"`` -> (values, cumulative weights)."""
    values, weights = [], []
    for item in spec.split():
        value, _sep, weight = item.partition(":")
        values.append(value)
        weights.append(float(weight or 1))
    return values, list(accumulate(weights))


# Surnames as met in Shanghai, with rough weights (per cent); two compound surnames.
SURNAMES = _weighted(
    "张:6.5 王:6.5 陈:6 李:5 徐:3.5 朱:3 周:3 沈:2.5 陆:2.5 顾:2.3 吴:2.3 刘:2.3 杨:2 黄:2 "
    "钱:1.5 孙:1.5 胡:1.5 金:1.5 施:1.3 曹:1.2 蒋:1.2 姚:1.2 宋:1 范:1 唐:1 马:1 郑:1 "
    "赵:1 许:1 何:1 高:1 汪:0.9 倪:0.8 俞:0.8 杜:0.8 邱:0.7 袁:0.7 叶:0.7 潘:0.7 戴:0.7 "
    "盛:0.6 丁:0.6 秦:0.6 卢:0.6 严:0.6 奚:0.5 龚:0.5 薛:0.5 冯:0.5 邵:0.5 林:0.5 方:0.5 "
    "傅:0.4 毛:0.4 夏:0.4 陶:0.4 谢:0.4 韩:0.4 汤:0.4 郭:0.4 程:0.4 费:0.3 邹:0.3 石:0.3 "
    "任:0.3 葛:0.3 屠:0.3 蔡:0.3 罗:0.3 姜:0.3 贾:0.2 孔:0.2 童:0.2 欧阳:0.05 司马:0.02"
)

# Given names by birth years and gender (one or two characters: full names of 2-3 characters).
GIVEN_NAMES = {
    # (born before, gender): names
    (1950, "M"): "根宝 阿根 金生 福根 国栋 德明 志成 宝林 荣根 长根 永福 仁杰 文华 正华 松林 "
    "家骏 善庆 鸿 德兴 福生 宝根 仁 炳章 梅生",
    (1950, "F"): "秀英 桂英 玉兰 凤英 淑珍 根娣 秀珍 彩娣 月娥 金娣 阿妹 招娣 素珍 惠珍 佩珍 "
    "美华 雅琴 宝娣 杏娣 巧英 菊芬 美娟 雪娥 兰英",
    (1970, "M"): "建国 建华 建军 国庆 卫东 卫国 国平 志强 建平 新民 振华 跃进 红兵 永强 立新 "
    "海林 明 勇 军 刚 国华 伟民 德华 志明",
    (1970, "F"): "红梅 丽华 美玲 爱华 秀兰 春梅 秋菊 冬梅 建英 红英 小妹 凤珍 丽萍 玉珍 慧 "
    "静 芳 敏 萍 美芳 雪芳 亚萍 丽娟 玲",
    (1990, "M"): "伟 磊 勇 涛 斌 杰 强 海波 俊 峰 毅 华 健 晓东 文杰 海涛 晓峰 斌斌 辉 "
    "晓明 立新 永刚 卫华 震",
    (1990, "F"): "丽 艳 静 敏 娟 燕 霞 婷 颖 雯 海燕 晓燕 丽娟 晓红 佳 蕾 琳 倩 莉 晶 "
    "琼 洁 莹 慧敏",
    (2005, "M"): "浩 俊杰 宇 浩然 子豪 天宇 晨 鹏 家豪 嘉伟 一鸣 思远 宇航 文博 俊豪 "
    "凯 昊 杰 磊 宇峰 俊辉 晨阳",
    (2005, "F"): "婷 佳怡 欣怡 雨婷 思琪 诗雨 梦瑶 嘉怡 雨桐 晓雯 佳琪 怡 雪 梦洁 静怡 "
    "佳慧 晓雨 思佳 雯婷",
    (9999, "M"): "子轩 梓轩 浩宇 宇轩 一诺 沐宸 奕辰 皓轩 睿 子墨 俊熙 梓豪 宇泽 睿哲 "
    "博文 嘉懿 煜 逸飞",
    (9999, "F"): "梓涵 一诺 欣怡 子涵 诗涵 梓萱 可馨 若汐 语桐 依诺 雨涵 芷若 沐瑶 "
    "可欣 思彤 语嫣 若曦 梓琪",
}
GIVEN_NAMES = {key: names.split() for key, names in GIVEN_NAMES.items()}
_ERAS = sorted({year for year, _g in GIVEN_NAMES})

# Foreign families: nationality -> (family names, men's names, women's names).
FOREIGN_NAMES = {
    "US": (
        "Smith Johnson Brown Miller Davis Wilson Taylor Anderson",
        "John Michael David James Robert Daniel Ethan",
        "Emily Sarah Jennifer Jessica Olivia Emma Grace",
    ),
    "JP": (
        "Tanaka Suzuki Sato Takahashi Watanabe Ito Yamamoto Nakamura",
        "Hiroshi Takeshi Kenji Daiki Haruto Sota Ren",
        "Yuko Akiko Naoko Yui Sakura Hina Aoi",
    ),
    "KR": (
        "Kim Lee Park Choi Jung Kang Cho Yoon",
        "Minjun Jihoon Seojun Hyunwoo Dohyun Junho",
        "Jiyeon Seoyeon Minji Soyeon Hayoon Eunji",
    ),
    "DE": (
        "Schmidt Schneider Fischer Weber Wagner Becker Hoffmann Koch",
        "Thomas Michael Andreas Lukas Felix Jonas",
        "Anna Julia Katharina Laura Lena Sophie",
    ),
}
FOREIGN_NAMES = {k: tuple(part.split() for part in v) for k, v in FOREIGN_NAMES.items()}
NATIONALITIES = _weighted("US:3 JP:4 KR:3 DE:2")


def surname(rng: random.Random) -> str:
    values, cumulative = SURNAMES
    return values[bisect(cumulative, rng.random() * cumulative[-1])]


def given_name(rng: random.Random, gender: str, birth_year: int) -> str:
    era = next(year for year in _ERAS if birth_year < year)
    return rng.choice(GIVEN_NAMES[(era, gender)])


# --- people and households --------------------------------------------------------------------


@dataclass
class Person:
    name: str
    gender: str  # "M" or "F"
    birth: datetime.date
    relation: str
    family_name: str = ""  # not stored: children take their father's
    lives_alone: bool = False
    moved_out: datetime.date | None = None

    def age(self, today: datetime.date) -> int:
        b = self.birth
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


@dataclass
class HouseholdPlan:
    tenure: str
    status: str  # residence status of its members
    moved_in: datetime.date
    people: list[Person] = field(default_factory=list)
    nationality: str = "CN"
    province: str = "31"  # where the members' ID numbers come from
    low_income: bool = False


# People aged 60 or more by age band, per cent (an old Shanghai neighbourhood).
_OLD_BANDS = [(60, 69, 46.0), (70, 79, 31.0), (80, 89, 17.5), (90, 99, 5.1), (100, 103, 0.4)]
_OLD_WEIGHT = {
    age: weight / (high - low + 1)
    for low, high, weight in _OLD_BANDS
    for age in range(low, high + 1)
}


def old_age(rng: random.Random, low: int = 60, high: int = 103) -> int:
    """An age of ``low`` to ``high`` drawn from the age pyramid of the elderly."""
    ages = range(low, high + 1)
    return rng.choices(ages, weights=[_OLD_WEIGHT[a] for a in ages])[0]


def birth_for_age(rng: random.Random, age: int, today: datetime.date) -> datetime.date:
    """A birth date giving exactly ``age`` today."""
    latest = add_years(today, -age)
    earliest = add_years(today, -(age + 1)) + datetime.timedelta(days=1)
    return earliest + datetime.timedelta(days=rng.randint(0, (latest - earliest).days))


class _Family:
    """Builds one household's members, keeping surnames consistent."""

    def __init__(self, rng: random.Random, today: datetime.date, foreign: str | None):
        self.rng, self.today, self.foreign = rng, today, foreign
        self.people: list[Person] = []
        self.family_name = self._surname()

    def _surname(self) -> str:
        if self.foreign:
            return self.rng.choice(FOREIGN_NAMES[self.foreign][0])
        return surname(self.rng)

    def add(self, relation: str, gender: str, age: int, family_name: str = "") -> Person:
        if age < 0:  # the ages drawn for parents and children did not leave room: a toddler
            age = self.rng.randint(0, 4)
        age = min(age, 103)
        birth = birth_for_age(self.rng, age, self.today)
        family = family_name or self._surname()
        taken = {p.name for p in self.people}
        for _attempt in range(10):  # two members of one household never share a name
            if self.foreign:
                men, women = FOREIGN_NAMES[self.foreign][1:]
                name = f"{self.rng.choice(men if gender == 'M' else women)} {family}"
            else:
                name = family + given_name(self.rng, gender, birth.year)
            if name not in taken:
                break
        person = Person(name, gender, birth, relation, family_name=family)
        self.people.append(person)
        return person

    def age_of(self, person: Person) -> int:
        return person.age(self.today)

    def head(self, gender: str, age: int) -> Person:
        return self.add(Relation.HEAD, gender, age, self.family_name)

    def spouse(self, head: Person) -> Person:
        gender = "F" if head.gender == "M" else "M"
        gap = self.rng.randint(-6, 2) if gender == "F" else self.rng.randint(-2, 6)
        # foreign families share the family name; Chinese wives keep their own
        return self.add(
            Relation.SPOUSE,
            gender,
            self.age_of(head) + gap,
            self.family_name if self.foreign else "",
        )

    def father_surname(self) -> str:
        father = next(
            (p for p in self.people if p.gender == "M" and p.relation in ("head", "spouse")),
            None,
        )
        return father.family_name if father else self.family_name

    def child(self, age: int, relation: str = Relation.CHILD, gender: str = "") -> Person:
        return self.add(relation, gender or self.rng.choice("MF"), age, self.father_surname())

    def parent_of_head(self, head: Person, gender: str) -> Person:
        age = self.age_of(head) + self.rng.randint(22, 34)
        if age > 103:
            age = self.rng.randint(95, 103)
        return self.add(Relation.PARENT, gender, age, head.family_name if gender == "M" else "")


def _compose(rng: random.Random, family: _Family, kind: str, size: int, young: bool) -> None:
    """Fill ``family`` with the ``size`` members of a household of ``kind``."""

    def couple(low, high):
        head = family.head(rng.choice("MMMF"), rng.randint(low, high))
        family.spouse(head)
        return head

    if kind == "single":
        if young:
            head = family.head(rng.choice("MF"), rng.randint(21, 45))
        elif rng.random() < 0.25:
            head = family.head(rng.choice("MF"), rng.randint(22, 59))
        else:  # mostly widows
            head = family.head("F" if rng.random() < 0.68 else "M", old_age(rng, 60))
        head.lives_alone = True
    elif kind == "old_couple":
        family.spouse(family.head("M" if rng.random() < 0.8 else "F", old_age(rng, 60, 100)))
    elif kind == "young_couple":
        couple(24, 40)
    elif kind == "parent_child":
        head = family.head("F" if rng.random() < 0.7 else "M", rng.randint(32, 58))
        family.child(family.age_of(head) - rng.randint(24, 34))
    elif kind == "nuclear":  # a couple and their children
        head = couple(28, 55) if young else couple(30, 58)
        oldest = family.age_of(head) - rng.randint(23, 35)
        for index in range(size - 2):
            family.child(max(0, oldest - index * rng.randint(2, 6)))
    elif kind == "old_with_child":  # an elderly couple and their unmarried grown-up child
        head = family.head("M", old_age(rng, 62, 92))
        family.spouse(head)
        family.child(family.age_of(head) - rng.randint(25, 34))
    elif kind == "with_parent":  # a couple, their child and the head's parent(s)
        head = couple(35, 58)
        family.child(family.age_of(head) - rng.randint(24, 34))
        parents = ["F" if rng.random() < 0.7 else "M"] if size == 4 else ["M", "F"]
        for gender in parents[: size - 3]:
            family.parent_of_head(head, gender)
    elif kind == "three_generations":  # elderly head, grown-up son, his wife, a grandchild
        head = family.head("M" if rng.random() < 0.75 else "F", old_age(rng, 60, 88))
        if size >= 5:
            family.spouse(head)
        son = family.child(family.age_of(head) - rng.randint(24, 33), gender="M")
        family.add(Relation.CHILD_IN_LAW, "F", family.age_of(son) - rng.randint(-2, 4))
        family.add(
            Relation.GRANDCHILD,
            rng.choice("MF"),
            family.age_of(son) - rng.randint(24, 34),
            son.family_name,
        )
    else:  # pragma: no cover
        raise AssertionError(kind)


# household kinds by size: (kind, weight); "young" households are tenants' and foreigners'
KINDS = {
    1: [("single", 1)],
    2: [("old_couple", 46), ("young_couple", 30), ("parent_child", 24)],
    3: [("nuclear", 62), ("old_with_child", 38)],
    4: [("nuclear", 35), ("with_parent", 35), ("three_generations", 30)],
    5: [("with_parent", 55), ("three_generations", 45)],
}
YOUNG_KINDS = {
    1: [("single", 1)],
    2: [("young_couple", 70), ("parent_child", 30)],
    3: [("nuclear", 1)],
    4: [("nuclear", 1)],
    5: [("with_parent", 1)],
}
SIZES = {  # household size distribution by kind of household
    "owner": _weighted("1:13 2:17 3:24 4:23 5:23"),
    "tenant": _weighted("1:26 2:30 3:29 4:12 5:3"),
    "non_resident": _weighted("1:45 2:35 3:20"),
    "foreign": _weighted("1:35 2:35 3:20 4:10"),
}
# Shares of households (of dwellings with a household): the rest are owner-occupiers.
TENANT_SHARE = 0.18
NON_RESIDENT_SHARE = 0.03
FOREIGN_SHARE = 0.012  # only in estates built from 2000 on
MOVED_OUT_SHARE = 0.06  # households where a grown-up child has moved out (kept as history)
# Provinces people from elsewhere come from (Anhui, Jiangsu, Henan, Zhejiang, Jiangxi,
# Sichuan, Hubei, Shandong).
ELSEWHERE = _weighted("34:30 32:20 41:12 33:10 36:8 51:8 42:6 37:6")


def _pick(rng: random.Random, table) -> str:
    values, cumulative = table
    return values[bisect(cumulative, rng.random() * cumulative[-1])]


def _pick_kind(rng: random.Random, table) -> str:
    total = sum(w for _k, w in table)
    roll = rng.random() * total
    for kind, weight in table:
        if roll < weight:
            return kind
        roll -= weight
    return table[-1][0]


def plan_household(
    rng: random.Random, today: datetime.date, *, built_year: int | None
) -> HouseholdPlan:
    """One household for a dwelling of an estate built in ``built_year``."""
    built = built_year or 1995
    roll = rng.random()
    if built >= 2000 and roll < FOREIGN_SHARE:
        group, tenure = "foreign", (Tenure.OWNER if rng.random() < 0.3 else Tenure.TENANT)
    elif roll < FOREIGN_SHARE + NON_RESIDENT_SHARE:
        group, tenure = "non_resident", Tenure.TENANT if rng.random() < 0.8 else Tenure.OTHER
    elif roll < FOREIGN_SHARE + NON_RESIDENT_SHARE + TENANT_SHARE:
        group, tenure = "tenant", Tenure.TENANT
    else:
        group, tenure = "owner", Tenure.OWNER
    size = int(_pick(rng, SIZES[group]))
    young = group != "owner"
    kind = _pick_kind(rng, (YOUNG_KINDS if young else KINDS)[size])

    foreign = _pick(rng, NATIONALITIES) if group == "foreign" else None
    family = _Family(rng, today, foreign)
    _compose(rng, family, kind, size, young)

    if group == "owner":
        status = ResidenceStatus.REGISTERED if rng.random() < 0.78 else ResidenceStatus.PERMANENT
        start = datetime.date(max(built, 1980), 1, 1)
    elif group == "foreign":
        status = ResidenceStatus.PERMANENT if tenure == Tenure.OWNER else ResidenceStatus.RENTING
        start = add_years(today, -6)
    elif group == "tenant":
        status, start = ResidenceStatus.RENTING, add_years(today, -6)
    else:
        status, start = ResidenceStatus.NON_RESIDENT, add_years(today, -2)
    # not before the estate was built, nor before the eldest member was 18
    eldest = min(p.birth for p in family.people)
    start = max(start, datetime.date(built, 1, 1), add_years(eldest, 18))
    span = max(0, (today - start).days)
    moved_in = min(today, start + datetime.timedelta(days=rng.randint(0, span)))

    plan = HouseholdPlan(
        tenure=tenure,
        status=status,
        moved_in=moved_in,
        people=family.people,
        nationality=foreign or "CN",
        province=_pick(rng, ELSEWHERE) if group in ("tenant", "non_resident") else "31",
        low_income=group in ("owner", "tenant") and rng.random() < 0.008,
    )
    # a grown-up child who has moved away stays on record, marked moved out
    grown = [p for p in plan.people if p.relation == Relation.CHILD and p.age(today) >= 22]
    if len(plan.people) >= 3 and grown and rng.random() < MOVED_OUT_SHARE:
        leaver = rng.choice(grown)
        earliest = max(moved_in, add_years(leaver.birth, 18)) + datetime.timedelta(days=30)
        if earliest < today:
            leaver.moved_out = earliest + datetime.timedelta(
                days=rng.randint(0, (today - earliest).days)
            )
    return plan


# --- identifiers ------------------------------------------------------------------------------

_REGIONS = 1999  # region codes xx8000 .. xx9998 (xx9999 is kept for hand-made demo people)
UNIQUE_SERIALS = _REGIONS * 500  # serials below this give distinct numbers


def id_number(serial: int, person: Person, province: str = "31") -> str:
    """A valid resident ID number for ``person``, distinct for every serial below
    :data:`UNIQUE_SERIALS` whatever the birth date (region and sequence encode it)."""
    region = f"{province}{8000 + serial % _REGIONS:04d}"
    sequence = 2 * ((serial // _REGIONS) % 500) + (1 if person.gender == "M" else 0)
    return compose_id_number(region, person.birth, sequence)


def passport_number(serial: int, nationality: str) -> str:
    """A passport number shaped like the country's (fake, distinct per serial)."""
    if nationality == "US":
        return f"5{serial % 10**8:08d}"
    if nationality == "JP":
        return f"T{'KRSZ'[serial % 4]}{serial % 10**7:07d}"
    if nationality == "KR":
        return f"M{serial % 10**8:08d}"
    return f"C{serial % 10**8:08d}"  # DE and others


def identity(serial: int, person: Person, plan: HouseholdPlan) -> tuple[str, str]:
    """(id_type, number) for a person of ``plan``."""
    if plan.nationality != "CN":
        return IdType.PASSPORT, passport_number(serial, plan.nationality)
    return IdType.RESIDENT_ID, id_number(serial, person, plan.province)


_MOBILE_PREFIXES = tuple(
    f"1{n}"
    for n in (30, 31, 32, 33, 35, 36, 37, 39, 50, 51, 52, 53, 55, 56, 57, 58, 59, 66, 73, 76, 77)
    + (80, 81, 82, 83, 85, 86, 87, 88, 89, 91, 99)
)


def mobile(rng: random.Random) -> str:
    """A mainland mobile number (never one of the demo logins 13800000001-5)."""
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randint(0, 10**8 - 1):08d}"


def has_phone(rng: random.Random, age: int) -> bool:
    if age < 14:
        return False
    if age < 18:
        return rng.random() < 0.6
    if age < 80:
        return rng.random() < 0.96
    return rng.random() < 0.65


# --- care tags --------------------------------------------------------------------------------


def care_tags(rng: random.Random, person: Person, plan: HouseholdPlan, today) -> list[str]:
    """Care tag codes for a person, at rates plausible for an old Shanghai neighbourhood."""
    age = person.age(today)
    chinese = plan.nationality == "CN"
    tags = []
    if chinese and age >= 18:
        rate = 0.05 if age < 35 else 0.08 if age < 60 else 0.14
        if rng.random() < rate:
            tags.append(PARTY_MEMBER)
    alone = person.lives_alone and person.moved_out is None
    if alone and age >= 60:
        tags.append(ELDERLY_ALONE)
    disabled = rng.random() < (0.015 if age < 60 else 0.04 if age < 80 else 0.10)
    if disabled:
        tags.append(DISABLED)
    if plan.low_income:
        tags.append(LOW_INCOME)
    if chinese and age >= 30 and rng.random() < (0.035 if person.gender == "M" else 0.003):
        tags.append(VETERAN)
    care = (
        (alone and age >= 80 and rng.random() < 0.5)
        or (age >= 90 and rng.random() < 0.3)
        or (disabled and plan.low_income)
        or (disabled and alone and rng.random() < 0.5)
    )
    if care and person.moved_out is None:
        tags.append(KEY_CARE)
    return tags
