"""A household never has two current heads (户主): the services hand headship over, and
the database refuses a second head (a partial unique constraint on current members)."""

from __future__ import annotations

import io
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from openpyxl import Workbook

from residents.models import Relation, Resident
from residents.registry_io import COLUMNS, import_registry
from residents.services import resident_anonymise, resident_mark_moved_out, resident_update
from tests.factories import HouseholdFactory, ResidentFactory, make_id_number

pytestmark = pytest.mark.django_db

HOUSEHOLDS = "/api/v1/households/"
RESIDENTS = "/api/v1/residents/"
_seq = itertools.count(9600)


def heads(household) -> list[int]:
    return list(
        Resident.objects.current()
        .filter(household=household, relation=Relation.HEAD)
        .values_list("pk", flat=True)
    )


@pytest.fixture
def writer(world, api_key_headers):
    return api_key_headers(world.a.neighbourhood, scopes=("residents:read", "residents:write"))[1]


@pytest.fixture
def family(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    head = ResidentFactory(household=household, name="户主甲")
    spouse = ResidentFactory(household=household, name="配偶乙", relation=Relation.SPOUSE)
    household.refresh_from_db()
    assert household.head_id == head.pk
    return household, head, spouse


def test_patching_the_head_hands_headship_over(family, client, writer):
    household, head, spouse = family
    response = client.patch(
        f"{HOUSEHOLDS}{household.pk}/",
        {"head": spouse.pk},
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 200, response.content
    assert response.json()["head"] == spouse.pk
    head.refresh_from_db()
    assert head.relation != Relation.HEAD
    assert heads(household) == [spouse.pk]


def test_a_resident_posted_without_a_relation_is_not_a_second_head(family, client, writer):
    household, head, _spouse = family
    response = client.post(
        RESIDENTS,
        {"household": household.pk, "name": "新成员", "id_number": make_id_number(next(_seq))},
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 201, response.content
    assert response.json()["relation"] == Relation.OTHER
    asked = client.post(
        RESIDENTS,
        {
            "household": household.pk,
            "name": "又一个户主",
            "id_number": make_id_number(next(_seq)),
            "relation": "head",
        },
        content_type="application/json",
        headers=writer,
    )
    assert asked.status_code == 400
    assert "relation" in asked.json()["error"]["fields"]
    assert heads(household) == [head.pk]


def test_the_database_refuses_a_second_current_head(family):
    household, _head, spouse = family
    with pytest.raises(IntegrityError), transaction.atomic():
        Resident.objects.filter(pk=spouse.pk).update(relation=Relation.HEAD)


def test_former_heads_do_not_count(family):
    household, head, spouse = family
    resident_mark_moved_out(resident=head)
    Resident.objects.filter(pk=spouse.pk).update(relation=Relation.HEAD)  # allowed now
    other = ResidentFactory(household=household, name="丙", relation=Relation.CHILD)
    resident_anonymise(resident=Resident.objects.get(pk=spouse.pk), by=None)
    Resident.objects.filter(pk=other.pk).update(relation=Relation.HEAD)
    assert heads(household) == [other.pk]


def test_the_service_turns_a_clash_into_a_form_error(family):
    household, head, spouse = family
    with pytest.raises(ValidationError) as caught:
        resident_update(resident=spouse, relation=Relation.HEAD)
    assert "relation" in caught.value.error_dict
    assert heads(household) == [head.pk]


def _import(world, rows):
    headers = [column.header for column in COLUMNS]
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        row.update({"小区": world.a.estate.name, "楼栋": world.a.building.number, "室号": "101"})
        sheet.append([row.get(header) for header in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return import_registry(user=world.a.cadre, data=buffer.getvalue(), dry_run=False)


def test_an_import_that_hands_headship_to_a_member_saves(world, family):
    household, head, spouse = family
    result = _import(
        world,
        [
            {"姓名": head.name, "证件号码": head.decrypt_identifier(), "与户主关系": "配偶"},
            {"姓名": spouse.name, "证件号码": spouse.decrypt_identifier(), "与户主关系": "户主"},
            {"姓名": "新户员", "证件号码": make_id_number(next(_seq)), "与户主关系": "子女"},
        ],
    )
    assert result.saved, result.errors
    household.refresh_from_db()
    assert household.head_id == spouse.pk
    assert heads(household) == [spouse.pk]


def test_an_import_that_makes_a_new_person_head_saves(world, family):
    household, head, _spouse = family
    result = _import(
        world,
        [
            {"姓名": "新户主", "证件号码": make_id_number(next(_seq)), "与户主关系": "户主"},
            {"姓名": head.name, "证件号码": head.decrypt_identifier(), "与户主关系": "父母"},
        ],
    )
    assert result.saved, result.errors
    household.refresh_from_db()
    new = Resident.objects.get(name="新户主")
    assert household.head_id == new.pk
    assert heads(household) == [new.pk]
