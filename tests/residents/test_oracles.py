"""An answer never tells whether something exists outside the caller's places.

A document number registered in another neighbourhood is refused with the same words
as one registered in the caller's own (the API, the importer's dry run), and an estate
of another neighbourhood is "no such estate", like one that does not exist.
"""

from __future__ import annotations

import io
import itertools

import pytest
from django.utils import translation
from openpyxl import Workbook

from residents.models import Resident
from residents.registry_io import COLUMNS, plan_import
from residents.services.registry import identifier_unusable_message
from tests.factories import HouseholdFactory, ResidentFactory, make_id_number

pytestmark = pytest.mark.django_db

HEADERS = [column.header for column in COLUMNS]
_seq = itertools.count(8100)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row.get(header) for header in HEADERS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _row(side, **values):
    row = {
        "小区": side.estate.name,
        "楼栋": side.building.number,
        "室号": "101",
        "姓名": "新居民",
        "证件号码": make_id_number(next(_seq)),
        "与户主关系": "户主",
        "居住状态": "户籍",
    }
    row.update(values)
    return row


def test_a_number_registered_elsewhere_reads_like_any_unusable_number(world, client):
    elsewhere = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling), name="甲某")
    result = plan_import(
        user=world.b.cadre, data=_xlsx([_row(world.b, 证件号码=elsewhere.decrypt_identifier())])
    )
    [error] = result.errors
    assert error.column == "证件号码"
    assert error.message == identifier_unusable_message()
    assert "manage" not in error.message and "registered" not in error.message


def test_the_api_answers_the_same_for_a_duplicate_in_scope_and_elsewhere(
    world, client, api_key_headers
):
    headers = api_key_headers(world.b.neighbourhood, scopes=("residents:read", "residents:write"))[
        1
    ]
    own = HouseholdFactory(dwelling=world.b.dwelling)
    mine = ResidentFactory(household=own, name="乙某")
    theirs = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling), name="甲某")

    def post(number):
        response = client.post(
            "/api/v1/residents/",
            {"household": own.pk, "name": "重复", "id_number": number},
            content_type="application/json",
            headers={**headers, "Accept-Language": "en"},
        )
        assert response.status_code == 400
        return response.json()["error"]["fields"]

    in_scope = post(mine.decrypt_identifier())
    outside = post(theirs.decrypt_identifier())
    assert in_scope == outside == {"id_number": [identifier_unusable_message()]}
    assert "already registered" not in str(outside)
    assert Resident.objects.count() == 2


def test_an_estate_of_another_neighbourhood_is_no_such_estate(world):
    foreign = world.b.estate.name
    unknown = "从未有过的小区"
    result = plan_import(
        user=world.a.cadre,
        data=_xlsx([_row(world.a, 小区=foreign), _row(world.a, 小区=unknown, 室号="102")]),
    )
    by_row = {error.row: error for error in result.errors}
    assert {error.column for error in result.errors} == {"小区"}
    assert by_row[2].message.replace(foreign, "…") == by_row[3].message.replace(unknown, "…")
    assert "manage" not in by_row[2].message
