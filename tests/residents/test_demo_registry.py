"""The demo registry loaded by ``seed_demo``: ~9,000 residents, valid IDs, care tags, the
demo resident linked to her login, idempotent; and the people generator itself."""

import datetime
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F

from accounts.models import User
from buildings.demo import demo_neighbourhoods
from core.text import name_search_keys
from residents import demo_people
from residents.demo import OCCUPANCY_NORMAL
from residents.idnumbers import parse_id_number
from residents.models import (
    AccessEvent,
    CareTag,
    Household,
    IdType,
    Relation,
    Resident,
    SavedReport,
    VisitorDeclaration,
    WellbeingAlert,
)
from residents.search import resident_search_q
from residents.services.reports import EXAMPLE_REPORTS

TODAY = datetime.date(2025, 6, 1)


def seed():
    out = StringIO()
    call_command("seed_demo", force=True, stdout=out)
    return out.getvalue()


def registry_counts():
    return {
        "residents": Resident.objects.count(),
        "households": Household.objects.count(),
        "tags": CareTag.objects.count(),
        "links": Resident.care_tags.through.objects.count(),
        "reports": SavedReport.objects.count(),
        "visitors": VisitorDeclaration.objects.count(),
        "door_events": AccessEvent.objects.count(),
        "alerts": WellbeingAlert.objects.count(),
    }


@pytest.mark.django_db
def test_normal_demo_registry_is_realistic_linked_and_idempotent():
    output = seed()
    first = registry_counts()
    assert "registry: added" in output
    assert 8_000 <= first["residents"] <= 10_000
    assert first["households"] >= 2_500
    assert first["tags"] == 6

    residents = Resident.objects.all()
    # bulk_create skips save(): the seed sets place ids and search keys itself
    assert not residents.exclude(dwelling_id=F("household__dwelling_id")).exists()
    assert not residents.exclude(building_id=F("dwelling__building_id")).exists()
    assert not residents.exclude(estate_id=F("dwelling__estate_id")).exists()
    assert not residents.exclude(neighbourhood_id=F("dwelling__neighbourhood_id")).exists()
    sample = list(residents.filter(id_type=IdType.RESIDENT_ID).order_by("?")[:200])
    for resident in sample:
        info = parse_id_number(resident.decrypt_identifier())  # valid: check digit, date, region
        assert (info.birth_date, info.gender) == (resident.birth_date, resident.gender)
        assert info.last4 == resident.id_last4
        assert (
            resident.name_pinyin,
            resident.name_initials,
            resident.name_grams,
        ) == name_search_keys(resident.name)
        assert 2 <= len(resident.name) <= 4
    # identifiers encrypted: the clear number is nowhere in the row
    number = sample[0].decrypt_identifier()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM residents_resident WHERE id_encrypted LIKE %s",
            [f"%{number}%"],
        )
        assert cursor.fetchone()[0] == 0
    assert len(set(residents.exclude(id_hash="").values_list("id_hash", flat=True))) == len(
        residents.exclude(id_hash="")
    )

    current = Resident.objects.current()
    assert current.aged_at_least(90).count() >= 20
    alone_80 = current.aged_at_least(80).filter(lives_alone=True)
    assert alone_80.count() >= 20
    assert not alone_80.exclude(care_tags__code=demo_people.ELDERLY_ALONE).exists()
    assert (
        not residents.filter(lives_alone=True)
        .annotate(n=Count("household__members"))
        .exclude(n=1)
        .exists()
    )
    assert residents.filter(residence_status="renting").exists()
    assert residents.filter(residence_status="non_resident").exists()
    foreigners = residents.exclude(nationality="CN")
    assert foreigners.exists()
    assert not foreigners.exclude(id_type=IdType.PASSPORT).exists()
    assert residents.filter(moved_out__isnull=False).exists()
    assert residents.exclude(phone_last4="").count() > first["residents"] // 2
    relations = set(residents.values_list("relation", flat=True))
    assert {Relation.HEAD, Relation.SPOUSE, Relation.CHILD, Relation.PARENT} <= relations
    tagged = dict(CareTag.objects.annotate(n=Count("residents")).values_list("code", "n"))
    assert all(tagged[code] > 0 for code, _name, _d in demo_people.CARE_TAGS)
    assert tagged[demo_people.PARTY_MEMBER] < first["residents"] * 0.2

    # every household has a head among its members
    assert not Household.objects.filter(head__isnull=True).exists()
    assert not Household.objects.exclude(head__household_id=F("pk")).exists()

    # the demo resident: her own record in her flat, linked and verified
    user = User.objects.get(phone="13800000004")
    assert user.verified
    resident = Resident.objects.get(user=user)
    assert resident.name == user.name == "张美玲"
    assert (resident.estate.name, resident.building.number, resident.dwelling.room) == (
        "宝林一村",
        "3号楼",
        "302",
    )
    assert resident.dwelling in user.owned_dwellings.all()
    assert resident.household.head_id == resident.pk
    assert resident.decrypt_phone() == "13800000004"
    assert resident.history.exists()  # written through the services
    found = Resident.objects.filter(
        resident_search_q("张美玲"), neighbourhood=resident.neighbourhood
    )
    assert resident in found

    # the two example reports, for neighbourhoods 1 and 2
    first_two = demo_neighbourhoods()[:2]
    for neighbourhood in first_two:
        names = set(
            SavedReport.objects.filter(neighbourhood=neighbourhood).values_list("name", flat=True)
        )
        assert {name for name, _c in EXAMPLE_REPORTS} <= names
        # the cadre's visitor and wellbeing pages are not empty
        declarations = VisitorDeclaration.objects.filter(neighbourhood=neighbourhood)
        assert declarations.count() >= 3
        assert declarations.filter(status=VisitorDeclaration.Status.CONFIRMED).exists()
        assert declarations.filter(status=VisitorDeclaration.Status.SUBMITTED).exists()
        alerts = WellbeingAlert.objects.filter(neighbourhood=neighbourhood)
        assert alerts.exists()
        elderly = Resident.objects.aged_at_least(80).values_list("pk", flat=True)
        assert set(alerts.values_list("resident_id", flat=True)) <= set(elderly)

    again = seed()
    assert "already seeded" in again
    assert registry_counts() == first
    assert Resident.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_a_partly_seeded_registry_is_completed(monkeypatch):
    # An estate that already has households is left alone; the others are filled.
    monkeypatch.setattr("residents.demo.OCCUPANCY_NORMAL", 0.05)
    seed()
    partial = Resident.objects.count()
    estates = set(Household.objects.values_list("estate_id", flat=True))
    assert 0 < partial < 2_000
    Household.objects.filter(estate_id=min(estates)).update(head=None)
    Resident.objects.filter(estate_id=min(estates)).delete()
    Household.objects.filter(estate_id=min(estates)).delete()
    monkeypatch.setattr("residents.demo.OCCUPANCY_NORMAL", OCCUPANCY_NORMAL)
    seed()
    refilled = Resident.objects.filter(estate_id=min(estates)).count()
    assert refilled > 0
    # the other estates kept their small share
    assert Resident.objects.exclude(estate_id=min(estates)).count() < partial + 10


# --- the generator -------------------------------------------------------------------------


def people(seed, count=400, built_year=2005):
    rng = random.Random(seed)
    return [demo_people.plan_household(rng, TODAY, built_year=built_year) for _ in range(count)]


def test_generator_is_deterministic_and_households_are_consistent():
    first, second = people(1), people(1)
    assert [[(p.name, p.birth) for p in h.people] for h in first] == [
        [(p.name, p.birth) for p in h.people] for h in second
    ]
    assert [h.people[0].name for h in people(2)] != [h.people[0].name for h in first]
    for household in first:
        assert 1 <= len(household.people) <= 5
        assert [p.relation for p in household.people].count(Relation.HEAD) == 1
        assert household.people[0].relation == Relation.HEAD
        assert len({p.name for p in household.people}) == len(household.people)
        assert household.moved_in <= TODAY
        head = household.people[0]
        for person in household.people:
            assert person.birth <= TODAY
            assert 0 <= person.age(TODAY) <= 104
            assert person.lives_alone == (len(household.people) == 1)
            if person.relation == Relation.SPOUSE:
                assert person.gender != head.gender
            if person.moved_out:
                assert household.moved_in < person.moved_out <= TODAY


def test_children_take_their_fathers_surname():
    checked = 0
    for household in people(3, count=600):
        if household.nationality != "CN":
            continue
        father = next(
            (p for p in household.people if p.gender == "M" and p.relation in ("head", "spouse")),
            None,
        )
        for child in household.people:
            if father and child.relation == Relation.CHILD:
                assert child.family_name == father.family_name
                assert child.name.startswith(father.family_name)
                checked += 1
    assert checked > 100


def test_id_numbers_are_valid_and_distinct_whatever_the_birth_date():
    person = demo_people.Person("王伟", "M", datetime.date(1960, 3, 1), Relation.HEAD)
    woman = demo_people.Person("李静", "F", datetime.date(1960, 3, 1), Relation.HEAD)
    serials = [
        *range(5_000),
        *range(demo_people.UNIQUE_SERIALS - 5_000, demo_people.UNIQUE_SERIALS),
    ]
    numbers = set()
    for serial in serials:
        for who in (person, woman):
            number = demo_people.id_number(serial, who)
            info = parse_id_number(number)
            assert (info.birth_date, info.gender) == (who.birth, who.gender)
            assert number[:2] == "31" and number[2:6] != "9999"
            numbers.add(number)
    assert len(numbers) == 2 * len(serials)
    other = demo_people.id_number(7, person, province="34")
    assert parse_id_number(other).number.startswith("34")


def test_passports_and_phones_are_well_formed():
    from residents.services.registry import normalise_identifier, normalise_phone

    for nationality in ("US", "JP", "KR", "DE"):
        number = demo_people.passport_number(123_456, nationality)
        assert normalise_identifier(IdType.PASSPORT, number)[0] == number
    rng = random.Random(5)
    for _ in range(200):
        phone = demo_people.mobile(rng)
        assert normalise_phone(phone) == phone and len(phone) == 11
        assert not phone.startswith("1380000")
