"""Demo logins and the demo registry for ``manage.py seed_demo`` (password ``linli-demo``).

Logins: 13800000001 superuser; 13800000002 cadre of neighbourhood 1; 13800000003
cadre of neighbourhood 2; 13800000004 resident of neighbourhood 1 (owner of a flat
there, not staff, real-name verified: linked to her registry record); 13800000005
property staff of an estate in neighbourhood 1. "Neighbourhood 1/2" are the first
two demo neighbourhoods (宝林一村居民区, 盘古路居民区).

Registry: the care tags (党员, 独居老人, 残疾, 低保, 退役军人, 重点关爱), then
households and residents (see ``residents.demo_people``): about 9,000 residents
in the 3,000 normal demo dwellings; ``--scale district`` adds about 500,000 more
in the rest of Baoshan. Rows are bulk-inserted a batch of estates at a time (one
transaction each, memory bounded), with the same normalisation, encryption and
search keys as ``resident_create``. The two example smart reports (智慧报表) are
saved for neighbourhoods 1 and 2, and each of them gets a few visitor declarations
(外来人员信息申报, some confirmed) and door-access events, after which the daily
wellbeing check raises alerts for the elderly residents not seen for days.

Idempotent: users are found by phone number (an existing user keeps its
password); roles are granted through ``role_grant``, which is idempotent too; an
estate that already has a household gets no demo residents, so an interrupted
run resumes where it stopped.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import role_grant
from buildings.demo import DISTRICT_NAME, demo_neighbourhoods
from buildings.models import Dwelling, Estate
from core.demo import DEMO_PASSWORD, DemoContext
from core.scoping import EVERYTHING
from core.text import NameSearchKeys, name_search_keys

from . import demo_people as people
from .idnumbers import compose_id_number
from .models import AccessEvent, CareTag, Household, IdType, Relation, Resident, VisitorDeclaration
from .models.registry import identifier_hash
from .services import (
    ensure_example_reports,
    household_create,
    raise_wellbeing_alerts,
    resident_create,
    visitor_declaration_review,
    visitor_declare,
)
from .services.registry import normalise_identifier, normalise_phone
from .services.wellbeing import EventInput, access_events_record

# phone, display name
SUPERUSER = ("13800000001", "陈志强")
CADRE_1 = ("13800000002", "王建国")
CADRE_2 = ("13800000003", "李秀英")
RESIDENT_1 = ("13800000004", "张美玲")
PROPERTY_STAFF_1 = ("13800000005", "刘海波")

# the resident's flat and the property staff's estate, in neighbourhood 1
RESIDENT_FLAT = ("宝林一村", "3号楼", "302")
PROPERTY_ESTATE = "宝林一村"

# The demo resident's household, written through the services (so it has history):
# name, birth date, ID sequence (odd: a man), relation, phone, care tag codes.
# Region 319999 is kept for these hand-made people (see demo_people.id_number).
DEMO_FAMILY_REGION = "319999"
DEMO_FAMILY = [
    ("张美玲", datetime.date(1978, 5, 12), 2, Relation.HEAD, RESIDENT_1[0], [people.PARTY_MEMBER]),
    ("陈志明", datetime.date(1976, 9, 3), 1, Relation.SPOUSE, "13916625318", []),
    ("陈思远", datetime.date(2008, 3, 21), 3, Relation.CHILD, "", []),
]
DEMO_FAMILY_MOVED_IN = datetime.date(2009, 6, 1)

# Share of dwellings with a registered household. The normal demo is fully
# registered but for a few empty flats (~9,000 residents in 3,000 dwellings); in
# the rest of the district about 42 % are (~500,000 residents in ~395,000 dwellings).
OCCUPANCY_NORMAL = 0.98
OCCUPANCY_DISTRICT = 0.42


def _user(phone: str, name: str, **extra) -> User:
    user = User.objects.filter(phone=phone).first()
    if user is not None:
        return user
    if extra.pop("superuser", False):
        return User.objects.create_superuser(phone, DEMO_PASSWORD, name=name, **extra)
    return User.objects.create_user(phone, DEMO_PASSWORD, name=name, **extra)


def seed(ctx: DemoContext) -> None:
    neighbourhoods = demo_neighbourhoods()
    if len(neighbourhoods) < 2:
        raise RuntimeError("The demo places are missing: buildings.demo must run first.")
    first, second = neighbourhoods[:2]

    _user(*SUPERUSER, superuser=True)
    cadres = {first: _user(*CADRE_1), second: _user(*CADRE_2)}
    for place, cadre in cadres.items():
        role_grant(user=cadre, role=Role.CADRE, place=place)

    resident = _user(*RESIDENT_1, verified=True)
    estate_name, building_number, room = RESIDENT_FLAT
    flat = Dwelling.objects.get(
        neighbourhood=first,
        building__estate__name=estate_name,
        building__number=building_number,
        room=room,
    )
    flat.owners.add(resident)

    estate = Estate.objects.get(neighbourhood=first, name=PROPERTY_ESTATE)
    role_grant(user=_user(*PROPERTY_STAFF_1), role=Role.PROPERTY_STAFF, place=estate)

    ctx.log(
        f"  logins (password {DEMO_PASSWORD}): {SUPERUSER[0]} superuser, "
        f"{CADRE_1[0]} cadre of {first}, {CADRE_2[0]} cadre of {second}, "
        f"{RESIDENT_1[0]} resident of {first}, {PROPERTY_STAFF_1[0]} property staff of {estate}"
    )

    tags = ensure_care_tags()
    seed_registry(ctx, tags=tags, normal=neighbourhoods, skip_dwellings={flat.pk})
    link_demo_resident(user=resident, flat=flat, tags=tags)
    for neighbourhood in (first, second):
        ensure_example_reports(neighbourhood)
        seed_visitors(neighbourhood, reviewer=cadres[neighbourhood])
        seed_door_events(neighbourhood)
    raised = raise_wellbeing_alerts()
    if raised:
        ctx.log(f"  wellbeing alerts raised: {raised}")


def ensure_care_tags() -> dict[str, CareTag]:
    """The configurable care tags, by code (an existing tag of the same name is reused)."""
    found = {}
    for order, (code, name, description) in enumerate(people.CARE_TAGS, start=1):
        tag = CareTag.objects.filter(code=code).first() or CareTag.objects.filter(name=name).first()
        if tag is None:
            tag = CareTag.objects.create(
                code=code, name=name, description=description, sort_order=order * 10
            )
        found[code] = tag
    return found


# --- the bulk part ----------------------------------------------------------------------------


@lru_cache(maxsize=50_000)
def _search_keys(name: str) -> NameSearchKeys:
    return name_search_keys(name)


class _Serials:
    """Serial numbers for made-up identifiers, above every resident's primary key so far
    (a new serial is never one an earlier run used: see ``demo_people.id_number``)."""

    def __init__(self):
        self.next = Resident.objects.aggregate(top=Max("pk"))["top"] or 0

    def take(self) -> int:
        self.next += 1
        return self.next


def seed_registry(ctx: DemoContext, *, tags: dict[str, CareTag], normal, skip_dwellings=()):
    """Households and residents for every demo estate that has no household yet."""
    normal_ids = {n.pk for n in normal}
    estates = Estate.objects.filter(neighbourhood__in=normal_ids)
    if ctx.is_district:
        estates = Estate.objects.filter(neighbourhood__subdistrict__district__name=DISTRICT_NAME)
    estates = list(
        estates.order_by("pk").values_list("pk", "name", "built_year", "neighbourhood_id")
    )
    seeded = set(
        Household.objects.filter(estate_id__in=[e[0] for e in estates])
        .values_list("estate_id", flat=True)
        .distinct()
    )
    todo = [e for e in estates if e[0] not in seeded]
    if not todo:
        ctx.log("  registry: already seeded")
        return
    started = ctx.elapsed()
    serials = _Serials()
    names = dict(
        Estate.objects.filter(pk__in=[e[0] for e in todo]).values_list("pk", "neighbourhood__name")
    )
    totals = {"households": 0, "residents": 0}
    buffer: list = []  # (household, [(resident, tag codes)]) of whole estates
    buffered_residents = 0
    flushed_estates: list[int] = []
    for estate_id, estate_name, built_year, neighbourhood_id in todo:
        occupancy = OCCUPANCY_NORMAL if neighbourhood_id in normal_ids else OCCUPANCY_DISTRICT
        rng = ctx.random("residents", names[estate_id], estate_name)
        dwellings = Dwelling.objects.filter(estate_id=estate_id).order_by(
            "building_id", "floor", "room"
        )
        for dwelling_id, building_id in dwellings.values_list("pk", "building_id"):
            if rng.random() >= occupancy or dwelling_id in skip_dwellings:
                continue
            plan = people.plan_household(rng, ctx.today, built_year=built_year)
            place = {
                "dwelling_id": dwelling_id,
                "building_id": building_id,
                "estate_id": estate_id,
                "neighbourhood_id": neighbourhood_id,
            }
            household = Household(tenure=plan.tenure, moved_in=plan.moved_in, **place)
            members = [
                _resident(rng, ctx.today, person, plan, serials.take(), place)
                for person in plan.people
            ]
            buffer.append((household, members))
            buffered_residents += len(members)
        flushed_estates.append(estate_id)
        if buffered_residents >= ctx.batch_size:
            _flush(ctx, buffer, flushed_estates, tags, totals)
            buffer, buffered_residents, flushed_estates = [], 0, []
    if buffer or flushed_estates:
        _flush(ctx, buffer, flushed_estates, tags, totals)
    ctx.log(
        f"  registry: added {totals['households']:,} households, "
        f"{totals['residents']:,} residents in {ctx.elapsed() - started:.1f} s"
    )


def _resident(rng, today, person: people.Person, plan, serial: int, place) -> tuple:
    """An unsaved Resident (and its care tag codes) as ``resident_create`` would store it.

    ``bulk_create`` skips ``save()``: the search keys and the place ids are set here,
    and the identifiers go through the services' normalisation and ``set_identifier``.
    """
    id_type, raw = people.identity(serial, person, plan)
    number, info = normalise_identifier(id_type, raw)
    resident = Resident(
        name=person.name,
        gender=info.gender if info else person.gender,
        birth_date=info.birth_date if info else person.birth,
        relation=person.relation,
        residence_status=plan.status,
        nationality=plan.nationality,
        lives_alone=person.lives_alone,
        moved_in=max(plan.moved_in, person.birth),
        moved_out=person.moved_out,
        **place,
    )
    resident.set_search_keys(_search_keys(person.name))
    resident.set_identifier(id_type, number)
    age = person.age(today)
    resident.set_phone(normalise_phone(people.mobile(rng)) if people.has_phone(rng, age) else "")
    return resident, people.care_tags(rng, person, plan, today)


def _flush(ctx: DemoContext, buffer, estate_ids, tags, totals) -> None:
    """Insert whole estates' households, residents, heads and tags in one transaction.

    Bulk inserts write no simple-history rows: acceptable for demo data (the
    history starts with the first real change).
    """
    with transaction.atomic():
        households = ctx.bulk_insert(Household, (h for h, _m in buffer), keep=True)
        for household, (_h, members) in zip(households, buffer, strict=True):
            for resident, _codes in members:
                resident.household_id = household.pk
        residents = ctx.bulk_insert(Resident, (r for _h, m in buffer for r, _c in m), keep=True)
        codes = (codes for _h, m in buffer for _r, codes in m)
        through = Resident.care_tags.through
        ctx.bulk_insert(
            through,
            (
                through(resident_id=resident.pk, caretag_id=tags[code].pk)
                for resident, resident_codes in zip(residents, codes, strict=True)
                for code in resident_codes
            ),
        )
        heads = Resident.objects.filter(
            household_id=OuterRef("pk"), relation=Relation.HEAD
        ).order_by("pk")
        Household.objects.filter(estate_id__in=estate_ids, head__isnull=True).update(
            head_id=Subquery(heads.values("pk")[:1])
        )
    totals["households"] += len(households)
    totals["residents"] += len(residents)
    ctx.log(
        f"    residents: +{totals['residents']:,} in {totals['households']:,} households "
        f"({ctx.elapsed():.1f} s)",
        level=1 if ctx.is_district else 2,
    )


# --- the demo resident ------------------------------------------------------------------------


def link_demo_resident(*, user: User, flat: Dwelling, tags: dict[str, CareTag]) -> Resident:
    """The demo resident's household in her flat, her record linked to her login (verified)."""
    resident = Resident.objects.filter(user=user).first()
    if resident is None:
        with transaction.atomic():
            resident = _demo_family(flat, tags)
            resident.user = user
            resident.save(update_fields=["user", "updated_at"])
    if not user.verified:
        user.verified = True
        user.save(update_fields=["verified"])
    return resident


def _demo_family(flat: Dwelling, tags: dict[str, CareTag]) -> Resident:
    household = Household.objects.filter(dwelling=flat, moved_out__isnull=True).first()
    if household is None:
        household = household_create(dwelling=flat, tenure="owner", moved_in=DEMO_FAMILY_MOVED_IN)
    head = None
    for name, birth, sequence, relation, phone, codes in DEMO_FAMILY:
        number = compose_id_number(DEMO_FAMILY_REGION, birth, sequence)
        found = Resident.objects.filter(id_hash=identifier_hash(IdType.RESIDENT_ID, number)).first()
        if found is None:
            found = resident_create(
                household=household,
                name=name,
                id_number=number,
                phone=phone,
                relation=relation,
                residence_status="registered",
                care_tags=[tags[code] for code in codes],
            )
        if head is None:
            head = found
    return head


# --- visitors and door-access events -------------------------------------------------------

# name, home region (GB 11643 area code), birth date, reason, days since arrival, stay
DEMO_VISITORS = [
    ("周晓燕", "340104", datetime.date(1996, 4, 2), "探亲", 2, 10),
    ("吴国强", "320102", datetime.date(1971, 11, 19), "照顾老人", 5, 30),
    ("郑丽", "330106", datetime.date(1989, 7, 8), "短期借住", 1, 4),
    ("孙浩", "410105", datetime.date(2001, 1, 27), "务工", 12, 60),
]
# how many of a neighbourhood's oldest residents living alone go unseen, and for how long
UNSEEN_ELDERLY = 3
UNSEEN_DAYS = 3
DEMO_DEVICE = "demo-gate-1"


def seed_visitors(neighbourhood, *, reviewer) -> None:
    """A few declarations through the visitor service (skipped if the place has any)."""
    if VisitorDeclaration.objects.filter(neighbourhood=neighbourhood).exists():
        return
    households = list(
        Household.objects.filter(neighbourhood=neighbourhood, moved_out__isnull=True)
        .order_by("pk")
        .select_related("head")[: len(DEMO_VISITORS)]
    )
    today = timezone.localdate()
    for index, (household, visitor) in enumerate(zip(households, DEMO_VISITORS, strict=False)):
        name, region, born, reason, days_ago, stay = visitor
        arrives = today - datetime.timedelta(days=days_ago)
        declaration = visitor_declare(
            household=household,
            name=name,
            id_number=compose_id_number(region, born, 11 + 2 * index),
            phone=f"1391234{5600 + index:04d}",
            arrives_on=arrives,
            leaves_on=arrives + datetime.timedelta(days=stay),
            reason=reason,
            today=arrives,
        )
        if index % 2 == 0:
            visitor_declaration_review(
                declaration=declaration, by=reviewer, status=VisitorDeclaration.Status.CONFIRMED
            )


def seed_door_events(neighbourhood) -> None:
    """Door-access events: everyone aged 80+ was seen a week ago, most of them today, the
    few oldest living alone not for ``UNSEEN_DAYS`` days (skipped if the place has any)."""
    if AccessEvent.objects.filter(neighbourhood=neighbourhood).exists():
        return
    now = timezone.now()
    elderly = list(
        Resident.objects.current()
        .filter(neighbourhood=neighbourhood)
        .aged_at_least(80)
        .order_by("-lives_alone", "birth_date", "pk")
        .values_list("pk", flat=True)
    )
    unseen = set(elderly[:UNSEEN_ELDERLY])
    events = []
    for pk in elderly:
        events.append(EventInput(occurred_at=now - datetime.timedelta(days=7), resident_id=pk))
        last = now - datetime.timedelta(days=UNSEEN_DAYS if pk in unseen else 0, hours=1)
        events.append(EventInput(occurred_at=last, resident_id=pk))
    events = [
        EventInput(occurred_at=e.occurred_at, resident_id=e.resident_id, device=DEMO_DEVICE)
        for e in events
    ]
    access_events_record(scope=EVERYTHING, events=events, now=now)
