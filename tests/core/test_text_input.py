"""Text people type is checked in one place (core.text.clean_text), and a NUL in a
request parameter is a 400 (core.input_guard), never a database error.

Names refuse control characters, direction overrides and isolates and zero-width
characters; multi-line notes keep new lines and tabs but refuse the rest. The rule is
the services', so the API, the admin and the importer refuse the same input.
"""

from __future__ import annotations

import csv
import io
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import translation

from core.input_guard import request_has_nul
from core.text import clean_text
from residents.models import Household, Resident, VisitorDeclaration
from residents.registry_io import COLUMNS, plan_import
from residents.services import (
    household_create,
    household_update,
    resident_create,
    resident_update,
    visitor_declare,
)
from tests.factories import HouseholdFactory, ResidentFactory, make_id_number

_seq = itertools.count(7100)

REFUSED_IN_NAMES = [
    "王\x0b五",  # vertical tab (the finding)
    "王\x00五",  # NUL
    "王\x1b五",  # escape
    "王\x7f五",  # delete
    "王\x85五",  # a C1 control
    "王\u202e五",  # right-to-left override
    "王\u202a五",
    "王\u2066五",  # isolates
    "王\u2069五",
    "王\u200b五",  # zero-width space
    "王\u200c五",
    "王\u200d五",
    "王\u2060五",  # word joiner
    "王\ufeff五",  # BOM / zero-width no-break space
    "王\u2028五",  # line separator
    "王\n五",
    "王\t五",
    "\x0b王五",  # at the edge, where strip() would hide it
]


# --- the rule --------------------------------------------------------------------------


@pytest.mark.parametrize("text", REFUSED_IN_NAMES)
def test_a_name_refuses_controls_bidi_and_invisible_characters(text):
    with pytest.raises(ValidationError) as caught:
        clean_text(text, field="name")
    assert caught.value.error_dict["name"][0].code == "invalid_characters"


@pytest.mark.parametrize("text", ["王\x00五", "a\x0bb", "a\u202eb", "a\u2067b", "a\x1fb"])
def test_multiline_text_refuses_nul_bidi_and_other_controls(text):
    with pytest.raises(ValidationError):
        clean_text(text, multiline=True)


def test_multiline_text_keeps_new_lines_and_tabs_and_unifies_line_ends():
    assert clean_text("第一行\r\n\t第二行\r第三行\n", multiline=True) == "第一行\n\t第二行\n第三行"


def test_text_is_normalised_to_nfc_and_stripped():
    decomposed = "Zoe\u0301 Li"  # e + combining acute accent
    assert clean_text(f"  {decomposed} ") == "Zoé Li"
    assert clean_text(None) == ""
    assert clean_text("李Anna 张三") == "李Anna 张三"


def test_the_message_is_translated():
    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        clean_text("a\x00b")
    with translation.override("en"), pytest.raises(ValidationError) as english:
        clean_text("a\x00b")
    assert "control character" in english.value.messages[0]
    assert caught.value.messages[0]  # a message in either language


# --- the services ----------------------------------------------------------------------


@pytest.mark.django_db
def test_services_refuse_bad_names_and_notes_and_store_nfc(world):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    with pytest.raises(ValidationError) as caught:
        resident_create(household=household, name="王\x0b五", id_number=make_id_number(7001))
    assert "name" in caught.value.error_dict
    with pytest.raises(ValidationError) as caught:
        resident_create(
            household=household, name="王五", id_number=make_id_number(7002), notes="a\x00b"
        )
    assert "notes" in caught.value.error_dict
    assert not Resident.objects.exists()

    resident = resident_create(
        household=household,
        name="Zoe\u0301",
        id_number=make_id_number(7003),
        notes="一\r\n二\t三",
    )
    resident.refresh_from_db()
    assert (resident.name, resident.notes) == ("Zoé", "一\n二\t三")
    with pytest.raises(ValidationError):
        resident_update(resident=resident, name="赵\u202e六")
    with pytest.raises(ValidationError):
        resident_update(resident=resident, notes="\u2066")
    resident.refresh_from_db()
    assert resident.name == "Zoé"

    with pytest.raises(ValidationError) as caught:
        household_create(dwelling=world.a.dwelling, notes="x\x00y")
    assert "notes" in caught.value.error_dict
    with pytest.raises(ValidationError):
        household_update(household=household, notes="x\u202ey")


@pytest.mark.django_db
def test_a_visitor_declaration_refuses_bad_names_and_reasons(world):
    import datetime

    from django.utils import timezone

    household = HouseholdFactory(dwelling=world.a.dwelling)
    today = timezone.localdate()
    values = {
        "household": household,
        "name": "访客\u200b甲",
        "id_type": "id_card",
        "id_number": make_id_number(7010),
        "phone": "13900001111",
        "arrives_on": today,
        "leaves_on": today + datetime.timedelta(days=3),
        "reason": "探亲",
    }
    with pytest.raises(ValidationError) as caught:
        visitor_declare(**values)
    assert "name" in caught.value.error_dict
    with pytest.raises(ValidationError) as caught:
        visitor_declare(**{**values, "name": "访客甲", "reason": "探亲\x00"})
    assert "reason" in caught.value.error_dict
    assert not VisitorDeclaration.objects.exists()


# --- the API and the admin -----------------------------------------------------------------


@pytest.fixture
def writer(world, api_key_headers):
    return api_key_headers(world.a.neighbourhood, scopes=("residents:read", "residents:write"))[1]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["王\x0b五", "王\u202e五", "王\u200b五"])
def test_the_api_refuses_a_name_with_a_control_character(world, client, writer, name):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    response = client.post(
        "/api/v1/residents/",
        {"household": household.pk, "name": name, "id_number": make_id_number(next(_seq))},
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["name"]
    assert not Resident.objects.exists()
    resident = ResidentFactory(household=household, name="王五")
    patched = client.patch(
        f"/api/v1/residents/{resident.pk}/",
        {"name": name},
        content_type="application/json",
        headers=writer,
    )
    assert patched.status_code == 400
    resident.refresh_from_db()
    assert resident.name == "王五"


@pytest.mark.django_db
def test_the_admin_form_refuses_a_name_with_a_control_character(world, login):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    client = login(world.a.cadre)
    response = client.post(
        reverse("admin:residents_resident_add"),
        {
            "household": household.pk,
            "name": "王\u202e五",
            "id_type": "id_card",
            "id_number": make_id_number(7020),
            "relation": "head",
            "residence_status": "registered",
            "nationality": "CN",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "name" in response.context["adminform"].form.errors
    assert not Resident.objects.exists()


# --- the importer ----------------------------------------------------------------------


HEADERS = [column.header for column in COLUMNS]


def _csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([row.get(header, "") for header in HEADERS])
    return buffer.getvalue().encode("utf-8")


def _row(side, **values):
    row = {
        "小区": side.estate.name,
        "楼栋": side.building.number,
        "室号": "101",
        "姓名": "王五",
        "证件号码": make_id_number(next(_seq)),
        "与户主关系": "户主",
        "居住状态": "户籍",
    }
    row.update(values)
    return row


@pytest.fixture
def no_pending_uploads():
    yield
    if default_storage.exists("imports"):
        for user_dir in default_storage.listdir("imports")[0]:
            for name in default_storage.listdir(f"imports/{user_dir}")[1]:
                default_storage.delete(f"imports/{user_dir}/{name}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("姓名", "王\x0b五"),
        ("姓名", "王\x00五"),
        ("姓名", "王\u202e五"),
        ("小区", "甲花\x00园"),
        ("楼栋", "1号\x00楼"),
        ("室号", "10\x001"),
        ("小区", "甲花\u202e园"),
    ],
)
def test_the_importer_reports_bad_text_as_a_row_error(world, column, value):
    result = plan_import(user=world.a.cadre, data=_csv([_row(world.a, **{column: value})]))
    assert result.file_error in (None, "")
    [error] = result.errors
    assert (error.row, error.column) == (2, column)
    assert "control character" in error.message or "控制字符" in error.message


@pytest.mark.django_db
def test_preview_and_confirm_of_a_file_with_nul_answer_without_a_server_error(
    world, login, no_pending_uploads
):
    client = login(world.a.cadre)
    rows = [_row(world.a, 小区="甲花\x00园"), _row(world.a, 室号="102", 姓名="李\x00四")]
    upload = io.BytesIO(_csv(rows))
    upload.name = "居民.csv"
    response = client.post(reverse("registry:import"), {"file": upload})
    assert response.status_code == 302
    preview = client.get(response["Location"])
    assert preview.status_code == 200
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    confirm = client.post(reverse("registry:import_confirm", args=[token]))
    assert confirm.status_code < 500
    assert not Resident.objects.exists() and not Household.objects.exists()


# --- NUL in request parameters -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"name": "\x00"},
        {"q": "\x00"},
        {"q": "王\x00"},
        {"household__id__exact": "1\x00"},
        {"\x00": "1"},
    ],
)
def test_nul_in_a_changelist_parameter_is_a_400(world, login, query):
    client = login(world.a.cadre)
    response = client.get(reverse("admin:residents_resident_changelist"), query)
    assert response.status_code == 400
    assert "Content-Security-Policy" in response.headers  # the usual headers still apply


@pytest.mark.django_db
def test_nul_in_an_autocomplete_term_is_a_400(world, login):
    client = login(world.a.cadre)
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "residents",
            "model_name": "resident",
            "field_name": "household",
            "term": "\x00",
        },
    )
    assert response.status_code == 400
    fine = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "residents", "model_name": "resident", "field_name": "household"},
    )
    assert fine.status_code == 200


@pytest.mark.django_db
def test_nul_in_api_parameters_and_json_is_a_400_in_the_api_shape(world, client, writer):
    response = client.get("/api/v1/residents/", {"name": "\x00"}, headers=writer)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    household = HouseholdFactory(dwelling=world.a.dwelling)
    posted = client.post(
        "/api/v1/residents/",
        {"household": household.pk, "name": "王五", "care_tags": ["\x00"]},
        content_type="application/json",
        headers=writer,
    )
    assert posted.status_code == 400
    assert posted.json()["error"]["code"] == "invalid"
    assert not Resident.objects.exists()


@pytest.mark.django_db
def test_nul_in_a_form_post_is_a_400(world, login):
    client = login(world.a.cadre)
    household = HouseholdFactory(dwelling=world.a.dwelling)
    response = client.post(
        reverse("admin:residents_resident_add"),
        {"household": household.pk, "name": "王\x00五", "id_number": make_id_number(7030)},
    )
    assert response.status_code == 400
    assert not Resident.objects.exists()


def test_the_guard_leaves_ordinary_requests_alone(rf):
    assert not request_has_nul(rf.get("/admin/", {"q": "王五", "name": "a b"}))
    assert not request_has_nul(
        rf.post("/api/v1/residents/", '{"name": "\\\\u0000"}', content_type="application/json")
    )
    assert request_has_nul(
        rf.post("/api/v1/residents/", '{"a": {"b": ["\\u0000"]}}', content_type="application/json")
    )
    assert not request_has_nul(rf.post("/x/", "not json \\u0000", content_type="application/json"))
