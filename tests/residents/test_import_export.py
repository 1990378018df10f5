"""Excel import and export of the registry: parsing, validation, the all-or-nothing save,
idempotent re-import, households, scoping, masking, audit, query counts."""

import csv
import datetime
import io
import itertools
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from core.models import AuditEvent
from core.text import name_search_keys
from residents import events
from residents.models import CareTag, Household, Relation, Resident
from residents.registry_io import (
    COLUMNS,
    import_registry,
    plan_import,
    purge_expired_uploads,
    read_table,
    upload_load,
    upload_store,
)
from tests.factories import (
    DwellingFactory,
    HouseholdFactory,
    ResidentFactory,
    UserFactory,
    make_id_number,
)

pytestmark = pytest.mark.django_db

HEADERS = [column.header for column in COLUMNS]
_seq = itertools.count(3000)


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_pending_uploads():
    """The test storage lives as long as the process: start each test without uploads."""
    yield
    if default_storage.exists("imports"):
        for user_dir in default_storage.listdir("imports")[0]:
            for name in default_storage.listdir(f"imports/{user_dir}")[1]:
                default_storage.delete(f"imports/{user_dir}/{name}")


@pytest.fixture(autouse=True)
def english():
    """Messages are checked by their English msgids (pages still render in Chinese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def tags(db):
    return {
        "党员": CareTag.objects.create(code="party-member", name="党员", sort_order=1),
        "独居老人": CareTag.objects.create(code="elderly-alone", name="独居老人", sort_order=2),
        "低保": CareTag.objects.create(code="low-income", name="低保", sort_order=3),
    }


def person(side, name, *, room="101", n=None, **values):
    """A row (dict by Chinese header) for a resident of ``side``'s first building."""
    row = {
        "小区": side.estate.name,
        "楼栋": side.building.number,
        "室号": room,
        "姓名": name,
        "证件号码": make_id_number(next(_seq) if n is None else n),
        "手机号": f"139{next(_seq):08d}",
        "与户主关系": "户主",
        "居住状态": "户籍",
    }
    row.update(values)
    return row


def xlsx(rows, headers=HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(header) for header in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, encoding="utf-8", headers=HEADERS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(header, "") for header in headers])
    return buffer.getvalue().encode(encoding)


def family(side, surname="王", *, room="101", size=3):
    rows = [person(side, f"{surname}大", room=room)]
    for index, relation in enumerate(("配偶", "子女", "父母", "孙子女")[: size - 1]):
        rows.append(person(side, f"{surname}{'二三四五'[index]}", room=room, 与户主关系=relation))
    return rows


def history_counts():
    return Resident.history.count(), Household.history.count()


def errors_by_row(result):
    found = {}
    for error in result.errors:
        found.setdefault(error.row, []).append(error)
    return found


# --- reading files -----------------------------------------------------------------------------


def test_gbk_and_utf8_bom_csv_parse(world, tags):
    rows = [person(world.a, "张伟", 关爱标签="党员、低保"), person(world.a, "李娜", room="101")]
    rows[1]["与户主关系"] = "配偶"
    for encoding, kind in (("gbk", "GBK"), ("utf-8-sig", "UTF-8 BOM"), ("utf-8", "UTF-8")):
        table = read_table(csv_bytes(rows, encoding))
        assert table.kind == f"CSV ({kind})"
        assert [cells[table.positions["name"]] for _n, cells in table.rows] == ["张伟", "李娜"]
        result = plan_import(user=world.a.cadre, data=csv_bytes(rows, encoding))
        assert result.ok, result.errors
        assert (result.created, result.households_created) == (2, 1)
        assert result.created_samples[0]["tags"] == "党员、低保"


def test_english_headers_a_title_line_and_unknown_columns(world):
    english = [c.english for c in COLUMNS] + ["remarks"]
    row = person(world.a, "Anna Li")
    values = {c.english: row.get(c.header) for c in COLUMNS}
    book = Workbook()
    sheet = book.active
    sheet.append(["甲居民区 居民信息表"])  # a title line above the header
    sheet.append(english)
    sheet.append([values.get(h) for h in english[:-1]] + ["keep"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = plan_import(user=world.a.cadre, data=buffer.getvalue())
    assert result.ok, result.errors
    assert result.created == 1
    assert result.ignored_columns == ["remarks"]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        (b"PK\x03\x04garbage", "damaged"),
        ("名字,年龄\n张三,3\n".encode(), "header"),
        ("小区,楼号,室号,姓名\n甲花园,1号楼,101,张三\n".encode(), "证件号码"),
    ],
)
def test_file_level_problems_are_explained(world, data, fragment):
    result = plan_import(user=world.a.cadre, data=data)
    assert not result.ok
    assert fragment in result.file_error


def test_size_and_row_limits(world, settings):
    data = csv_bytes([person(world.a, "张三"), person(world.a, "李四", room="101")])
    settings.LINLI_IMPORT_MAX_ROWS = 1
    assert "more than 1 rows" in plan_import(user=world.a.cadre, data=data).file_error
    settings.LINLI_IMPORT_MAX_BYTES = 10
    assert "larger than" in plan_import(user=world.a.cadre, data=data).file_error


# --- validation ----------------------------------------------------------------------------------


def test_one_bad_row_saves_nothing_and_names_the_row_and_column(world, login):
    rows = family(world.a, size=3)
    bad = rows[1]["证件号码"]
    rows[1]["证件号码"] = bad[:-1] + ("0" if bad[-1] != "0" else "1")  # wrong check digit
    data = xlsx(rows)

    result = import_registry(user=world.a.cadre, data=data, dry_run=False)
    assert not result.saved
    assert Resident.objects.count() == 0 and Household.objects.count() == 0
    [error] = result.errors
    assert (error.row, error.column, error.letter) == (3, "证件号码", "F")
    assert "check digit" in error.message  # residents.idnumbers' own message

    # the pages: the preview names it, and confirming still saves nothing
    client = login(world.a.cadre)
    token = upload_store(user=world.a.cadre, filename="居民.xlsx", data=data)
    page = client.get(reverse("registry:import_preview", args=[token]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "证件号码" in html and '<th scope="row">3</th>' in html
    assert (
        "import_confirm" not in html
        and reverse("registry:import_confirm", args=[token]) not in html
    )
    response = client.post(reverse("registry:import_confirm", args=[token]))
    assert response.status_code == 400
    assert Resident.objects.count() == 0


def test_every_bad_row_is_reported_with_its_column(world, tags):
    rows = [
        person(world.a, "甲一", 关爱标签="党员、不存在的标签"),
        person(world.a, "甲二", room="999"),
        person(world.a, "甲三", 楼栋="99号楼"),
        person(world.a, "甲四", 小区="不存在小区"),
        person(world.a, "甲五", 迁入日期="2020-13-45"),
        person(world.a, "甲六", 手机号="12345"),
        person(world.a, "甲七", 证件号码="31011319500101123"),
        person(world.a, "甲八", 与户主关系="邻居"),
        person(world.a, "", room="101"),
    ]
    for row in rows:
        row.setdefault("与户主关系", "其他")
        if row["与户主关系"] == "户主":
            row["与户主关系"] = "其他"
    result = plan_import(user=world.a.cadre, data=xlsx(rows))
    found = {
        row: [(e.column, e.message) for e in errors]
        for row, errors in errors_by_row(result).items()
    }
    assert [c for c, _m in found[2]] == ["关爱标签"] and "不存在的标签" in found[2][0][1]
    assert found[3][0][0] == "室号" and "999" in found[3][0][1]
    assert found[4][0][0] == "楼栋"
    assert found[5][0][0] == "小区" and "不存在小区" in found[5][0][1]
    assert found[6][0][0] == "迁入日期"
    assert found[7][0][0] == "手机号"
    assert found[8][0][0] == "证件号码" and "18 characters" in found[8][0][1]
    assert found[9][0][0] == "与户主关系" and "邻居" in found[9][0][1]
    assert found[10][0][0] == "姓名"
    assert result.created == 0 and result.bad_rows == 9


def test_duplicate_ids_within_the_file_are_reported(world):
    rows = [person(world.a, "张三", n=41), person(world.a, "张三丰", room="101", n=41)]
    rows[1]["与户主关系"] = "配偶"
    result = import_registry(user=world.a.cadre, data=xlsx(rows), dry_run=False)
    assert not result.saved and Resident.objects.count() == 0
    assert {(e.row, e.column) for e in result.errors} == {(2, "证件号码"), (3, "证件号码")}
    assert all("2、3" in e.message for e in result.errors)


def test_a_row_for_another_neighbourhood_is_refused_with_its_row_number(world):
    rows = [person(world.a, "本区居民"), person(world.b, "隔壁居民")]
    result = import_registry(user=world.a.cadre, data=xlsx(rows), dry_run=False)
    assert not result.saved
    assert Resident.objects.count() == 0
    [error] = result.errors
    assert (error.row, error.column) == (3, "小区")
    assert world.b.estate.name in error.message


def test_a_person_registered_in_another_neighbourhood_is_refused(world):
    other = ResidentFactory(household=HouseholdFactory(dwelling=world.b.dwelling), name="乙居民")
    rows = [person(world.a, "乙居民", 证件号码=other.decrypt_identifier())]
    result = plan_import(user=world.a.cadre, data=xlsx(rows))
    [error] = result.errors
    assert (error.row, error.column) == (2, "证件号码")
    assert "cannot be used here" in error.message  # not where: tests/residents/test_oracles.py


def test_excel_numbers_masked_ids_and_id_mismatches(world):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    row = person(world.a, "数字")
    row["证件号码"] = float(row["证件号码"][:17] + "1")  # Excel turned it into a number
    sheet.append([row.get(h) for h in HEADERS])
    masked = person(world.a, "掩码", 证件号码="310***********1234", 与户主关系="其他")
    sheet.append([masked.get(h) for h in HEADERS])
    mismatch = person(world.a, "性别", 性别="男", 出生日期="1901-01-01", n=42, 与户主关系="其他")
    sheet.append([mismatch.get(h) for h in HEADERS])
    buffer = io.BytesIO()
    book.save(buffer)
    result = plan_import(user=world.a.cadre, data=buffer.getvalue())
    found = errors_by_row(result)
    assert "lost its last digits" in found[2][0].message
    assert "masked" in found[3][0].message
    # an even sequence is a woman's number, born in 1950-ish, not 1901
    assert {e.column for e in found[4]} == {"性别", "出生日期"}


def test_passports_take_gender_and_birth_date_from_their_columns(world):
    row = person(
        world.a,
        "John Smith",
        证件类型="护照",
        证件号码="E12345678",
        性别="男",
        出生日期=datetime.date(1980, 4, 2),
        国籍="美国",
    )
    result = import_registry(user=world.a.cadre, data=xlsx([row]), dry_run=False)
    assert result.saved, result.errors
    resident = Resident.objects.get()
    assert (resident.id_type, resident.gender, resident.nationality) == ("passport", "M", "US")
    assert resident.birth_date == datetime.date(1980, 4, 2)
    assert resident.decrypt_identifier() == "E12345678"


# --- saving --------------------------------------------------------------------------------------


def test_import_creates_households_with_heads_history_and_an_audit_event(world, tags):
    second = DwellingFactory(building=world.a.building, room="102")
    rows = [
        *family(world.a, "王", size=3),
        person(world.a, "赵独居", room="102", 关爱标签="独居老人", 独居="是", 迁入日期="2001/3/4"),
    ]
    rows[0]["关爱标签"] = "党员"
    result = import_registry(user=world.a.cadre, data=xlsx(rows), filename="a.xlsx", dry_run=False)
    assert result.saved, result.errors
    assert (result.created, result.updated, result.households_created) == (4, 0, 2)

    wang = Household.objects.get(dwelling=world.a.dwelling)
    assert wang.head.name == "王大"
    assert sorted(wang.members.values_list("relation", flat=True)) == ["child", "head", "spouse"]
    assert {r.neighbourhood_id for r in wang.members.all()} == {world.a.neighbourhood.pk}
    zhao = Resident.objects.get(name="赵独居")
    assert zhao.household.dwelling == second and zhao.household.head == zhao
    assert zhao.lives_alone and zhao.moved_in == datetime.date(2001, 3, 4)
    assert list(zhao.care_tags.values_list("name", flat=True)) == ["独居老人"]
    assert (zhao.name_pinyin, zhao.name_initials, zhao.name_grams) == name_search_keys("赵独居")
    assert zhao.birth_date and zhao.gender  # from the ID number
    assert zhao.id_hash and zhao.phone_last4 == rows[3]["手机号"][-4:]
    assert zhao.decrypt_phone() == rows[3]["手机号"]

    # history: one record per created resident and household, by the cadre
    assert Resident.history.filter(history_type="+").count() == 4
    assert Resident.history.first().history_user == world.a.cadre
    [created] = Household.history.filter(id=wang.pk)
    assert (created.history_type, created.head_id) == ("+", wang.head_id)
    assert created.history_user == world.a.cadre
    event = AuditEvent.objects.get(action=events.REGISTRY_IMPORTED)
    assert event.actor == world.a.cadre
    assert event.neighbourhood_id == world.a.neighbourhood.pk
    assert (event.params["created"], event.params["filename"]) == (4, "a.xlsx")


def test_reimporting_the_same_file_changes_nothing(world, tags):
    DwellingFactory(building=world.a.building, room="102")
    rows = [*family(world.a, size=3), person(world.a, "单身", room="102", 关爱标签="党员")]
    data = xlsx(rows)
    first = import_registry(user=world.a.cadre, data=data, dry_run=False)
    assert first.saved and first.created == 4
    before = (
        Resident.objects.count(),
        Household.objects.count(),
        *history_counts(),
        AuditEvent.objects.count(),
        Resident.care_tags.through.objects.count(),
        list(Resident.objects.order_by("pk").values_list("updated_at", flat=True)),
    )

    again = import_registry(user=world.a.cadre, data=data, dry_run=False)
    assert again.saved and again.ok
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    after = (
        Resident.objects.count(),
        Household.objects.count(),
        *history_counts(),
        AuditEvent.objects.count(),
        Resident.care_tags.through.objects.count(),
        list(Resident.objects.order_by("pk").values_list("updated_at", flat=True)),
    )
    assert after == before
    # the same file as CSV is the same data: still nothing to do
    assert plan_import(user=world.a.cadre, data=csv_bytes(rows, "gbk")).unchanged == 4


def test_a_changed_row_updates_only_that_person(world, tags):
    rows = family(world.a, size=3)
    import_registry(user=world.a.cadre, data=xlsx(rows), dry_run=False)
    residents_before, households_before = history_counts()
    rows[2]["手机号"] = "13912345678"
    rows[2]["关爱标签"] = "低保"
    rows[1]["居住状态"] = "常住"
    del rows[0]["手机号"]  # a blank cell keeps the stored phone
    plan = plan_import(user=world.a.cadre, data=xlsx(rows))
    assert (plan.updated, plan.unchanged) == (2, 1)
    result = import_registry(user=world.a.cadre, data=xlsx(rows), dry_run=False)
    assert result.saved and result.updated == 2
    assert history_counts() == (residents_before + 2, households_before)
    child = Resident.objects.get(name="王三")
    assert child.decrypt_phone() == "13912345678" and child.phone_last4 == "5678"
    assert list(child.care_tags.values_list("name", flat=True)) == ["低保"]
    assert Resident.objects.get(name="王二").residence_status == "permanent"
    assert Resident.objects.get(name="王大").phone_hash  # kept


def test_a_masked_export_imports_back_as_unchanged_only_with_full_values(world, tags, login):
    rows = family(world.a, size=2)
    import_registry(user=world.a.cadre, data=xlsx(rows), dry_run=False)
    client = login(world.a.cadre)
    masked = client.get(reverse("registry:export_download")).getvalue()
    result = plan_import(user=world.a.cadre, data=masked)
    assert {e.column for e in result.errors} == {"证件号码"}  # masked numbers cannot identify

    world.a.cadre.user_permissions.add(
        Permission.objects.get(codename="view_full_identity", content_type__app_label="residents")
    )
    full = client.post(reverse("registry:export_download"), {"full": "on"}).getvalue()
    result = plan_import(user=world.a.cadre, data=full)
    assert result.ok and (result.created, result.updated, result.unchanged) == (0, 0, 2)


def test_a_new_member_joins_the_existing_household_of_the_dwelling(world):
    head = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling), name="老户主")
    household = head.household
    assert household.head == head
    rows = [person(world.a, "新成员", 与户主关系="")]
    result = import_registry(user=world.a.cadre, data=xlsx(rows), dry_run=False)
    assert result.saved and result.households_created == 0
    newcomer = Resident.objects.get(name="新成员")
    assert newcomer.household == household and newcomer.relation == Relation.OTHER
    household.refresh_from_db()
    assert household.head == head


def test_a_second_head_for_a_household_is_refused(world):
    ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling), name="老户主")
    result = plan_import(user=world.a.cadre, data=xlsx([person(world.a, "新户主")]))
    [error] = result.errors
    assert (error.row, error.column) == (2, "与户主关系")
    rows = family(world.a, size=2)
    rows[1]["与户主关系"] = "户主"
    result = plan_import(user=world.a.cadre, data=xlsx(rows))
    assert {(e.row, e.column) for e in result.errors} >= {(2, "与户主关系"), (3, "与户主关系")}


def test_a_person_listed_at_another_dwelling_moves_keeping_the_past(world):
    other = DwellingFactory(building=world.a.building, room="102")
    mover = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling), name="搬家人")
    old = mover.household
    row = person(
        world.a, "搬家人", room="102", 证件号码=mover.decrypt_identifier(), 迁入日期="2024-05-01"
    )
    plan = plan_import(user=world.a.cadre, data=xlsx([row]))
    assert plan.updated == 1 and plan.households_created == 1
    result = import_registry(user=world.a.cadre, data=xlsx([row]), dry_run=False)
    assert result.saved, result.errors
    mover.refresh_from_db()
    assert mover.dwelling == other and mover.household != old
    assert mover.household.head == mover and mover.relation == Relation.HEAD
    assert mover.moved_in == datetime.date(2024, 5, 1)
    assert mover.history.filter(household_id=old.pk).exists()  # the past is kept
    old.refresh_from_db()
    assert old.head is None


# --- pages ---------------------------------------------------------------------------------------


def test_upload_preview_confirm_and_done(world, login, tags):
    client = login(world.a.cadre)
    page = client.get(reverse("registry:import"))
    assert page.status_code == 200 and "证件号码" in page.content.decode()
    template = client.get(reverse("registry:import_template"))
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(template.content)).active
    assert [c.value for c in sheet[1]] == HEADERS
    # the template's example row is a valid row in the cadre's own dwelling
    example = plan_import(user=world.a.cadre, data=template.content)
    assert example.ok and example.created == 1

    data = xlsx(family(world.a, size=2))
    upload = io.BytesIO(data)
    upload.name = "居民.xlsx"
    response = client.post(reverse("registry:import"), {"file": upload})
    assert response.status_code == 302
    preview = client.get(response["Location"])
    html = preview.content.decode()
    assert preview.status_code == 200 and "data-import-created>2<" in html
    assert Resident.objects.count() == 0  # a preview writes nothing
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]

    done = client.post(reverse("registry:import_confirm", args=[token]), follow=True)
    assert done.status_code == 200
    assert Resident.objects.count() == 2
    assert "王大" in done.content.decode() and "王二" in done.content.decode()
    assert upload_load(user=world.a.cadre, token=token) is None  # deleted after confirm
    assert client.get(reverse("registry:import_preview", args=[token])).status_code == 404


def test_someone_elses_upload_is_a_404(world, login):
    token = upload_store(user=world.a.cadre, filename="a.xlsx", data=xlsx([person(world.a, "甲")]))
    client = login(world.b.cadre)
    for name, method in (
        ("registry:import_preview", "get"),
        ("registry:import_errors", "get"),
        ("registry:import_confirm", "post"),
        ("registry:import_cancel", "post"),
    ):
        assert getattr(client, method)(reverse(name, args=[token])).status_code == 404
    assert client.get(reverse("registry:import_preview", args=["0" * 32])).status_code == 404
    assert Resident.objects.count() == 0
    assert upload_load(user=world.a.cadre, token=token) is not None


def test_uploads_are_encrypted_and_expire_after_a_day(world, settings):
    data = xlsx([person(world.a, "甲")])
    token = upload_store(user=world.a.cadre, filename="a.xlsx", data=data)
    [name] = default_storage.listdir(f"imports/{world.a.cadre.pk}")[1]
    with default_storage.open(f"imports/{world.a.cadre.pk}/{name}") as handle:
        stored = handle.read()
    assert token not in name
    assert not stored.startswith(b"PK") and data not in stored and "甲".encode() not in stored
    assert upload_load(user=world.a.cadre, token=token).data == data
    assert purge_expired_uploads() == 0
    tomorrow = timezone.now() + datetime.timedelta(hours=25)
    assert purge_expired_uploads(now=tomorrow) == 1
    assert upload_load(user=world.a.cadre, token=token) is None


def test_people_who_manage_no_place_cannot_import_or_export(world, login):
    client = login(UserFactory())
    for name in ("registry:import", "registry:import_template", "registry:export"):
        assert client.get(reverse(name)).status_code == 403


def test_import_query_count_does_not_grow_with_rows(world, login, tags):
    """Preview and confirm cost a fixed number of queries whatever the number of rows: one
    bound for 10 rows and for 100, creating or updating (on PostgreSQL a batch is 1,000
    rows; SQLite's 999-parameter limit splits inserts of wide rows a little earlier)."""
    client = login(world.a.cadre)
    dwellings = [DwellingFactory(building=world.a.building, room=f"{200 + i}") for i in range(50)]
    counts = {}
    for size in (10, 100):
        Resident.objects.all().delete()
        Household.objects.all().delete()
        rows = [
            person(
                world.a,
                f"居民{size}-{index}",
                room=dwellings[index // 2].room,
                与户主关系="户主" if index % 2 == 0 else "配偶",
                关爱标签="党员",
            )
            for index in range(size)
        ]
        measured = []
        for step in ("create", "update"):
            if step == "update":
                for row in rows:  # every row changes: new phone, other tags
                    row["手机号"] = f"137{next(_seq):08d}"
                    row["关爱标签"] = "低保"
            token = upload_store(user=world.a.cadre, filename="rows.xlsx", data=xlsx(rows))
            with CaptureQueriesContext(connection) as preview:
                page = client.get(reverse("registry:import_preview", args=[token]))
            assert page.status_code == 200
            with CaptureQueriesContext(connection) as confirm:
                response = client.post(reverse("registry:import_confirm", args=[token]))
            assert response.status_code == 302, response.content.decode()[:2000]
            measured += [len(preview), len(confirm)]
        assert Resident.objects.count() == size
        assert Resident.objects.filter(care_tags__name="低保").count() == size
        counts[size] = measured
    previews = [c for size in counts for c in counts[size][0::2]]
    confirms = [c for size in counts for c in counts[size][1::2]]
    assert max(previews) <= 15, counts
    assert max(confirms) <= 30, counts


# --- export --------------------------------------------------------------------------------------


def _export_rows(content: bytes):
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return rows[0], rows[1:]


def test_export_masks_by_default_and_stays_in_scope(world, login, tags):
    mine = ResidentFactory(
        household=HouseholdFactory(dwelling=world.a.dwelling),
        name="甲居民",
        care_tags=[tags["党员"]],
    )
    ResidentFactory(household=HouseholdFactory(dwelling=world.b.dwelling), name="乙居民")
    client = login(world.a.cadre)
    response = client.get(reverse("registry:export_download"))
    assert response.status_code == 200
    headers, rows = _export_rows(response.getvalue())
    assert headers == HEADERS
    assert [row[3] for row in rows] == ["甲居民"]
    values = dict(itertools.zip_longest(headers, rows[0]))
    assert values["证件号码"] == mine.masked_id and "*" in values["证件号码"]
    assert values["手机号"] == mine.masked_phone and "*" in values["手机号"]
    assert values["关爱标签"] == "党员"
    event = AuditEvent.objects.get(action=events.REGISTRY_EXPORTED)
    assert event.params["masked"] is True and event.neighbourhood_id == world.a.neighbourhood.pk

    # another neighbourhood's estate is not a filter a cadre may use
    response = client.get(
        reverse("registry:export_download"), {"estate__id__exact": world.b.estate.pk}
    )
    assert response.status_code == 400
    page = client.get(reverse("registry:export"), {"estate__id__exact": world.b.estate.pk})
    assert page.status_code == 400 and "乙居民" not in page.content.decode()
    page = client.get(reverse("registry:export"))
    assert "甲居民" in page.content.decode() and "乙居民" not in page.content.decode()
    assert "data-export-count>1<" in page.content.decode()
    nobody = client.get(reverse("registry:export"), {"q": "乙居民"}).content.decode()
    assert "data-export-count>0<" in nobody and "乙居民</th>" not in nobody


def test_full_values_need_the_permission_and_are_audited(world, login):
    resident = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling), name="甲居民")
    client = login(world.a.cadre)
    assert client.post(reverse("registry:export_download"), {"full": "on"}).status_code == 403
    assert 'name="full"' not in client.get(reverse("registry:export")).content.decode()
    # a GET never exports full values, whatever it asks
    _h, rows = _export_rows(
        client.get(reverse("registry:export_download"), {"full": "on"}).getvalue()
    )
    assert "*" in rows[0][5]

    world.a.cadre.user_permissions.add(
        Permission.objects.get(codename="view_full_identity", content_type__app_label="residents")
    )
    client = login(type(world.a.cadre).objects.get(pk=world.a.cadre.pk))
    assert 'name="full"' in client.get(reverse("registry:export")).content.decode()
    masked = _export_rows(client.post(reverse("registry:export_download")).getvalue())[1]
    assert "*" in masked[0][5]
    response = client.post(reverse("registry:export_download"), {"full": "on"})
    _h, rows = _export_rows(response.getvalue())
    assert rows[0][5] == resident.decrypt_identifier() and rows[0][8] == resident.decrypt_phone()
    full_event = AuditEvent.objects.filter(action=events.REGISTRY_EXPORTED).latest("pk")
    assert full_event.params["masked"] is False and full_event.actor == world.a.cadre
    assert full_event.neighbourhood_id == world.a.neighbourhood.pk


def test_export_filters_follow_the_admin_list_parameters(world, login, tags):
    old = ResidentFactory(
        household=HouseholdFactory(dwelling=world.a.dwelling),
        name="老人",
        id_number=make_id_number(next(_seq), birth=datetime.date(1930, 1, 1)),
        care_tags=[tags["独居老人"]],
    )
    ResidentFactory(
        household=HouseholdFactory(dwelling=world.a.dwelling),
        name="年轻人",
        id_number=make_id_number(next(_seq), birth=datetime.date(2000, 1, 1)),
    )
    client = login(world.a.cadre)
    for query in (
        {"age": "90-"},
        {"care_tags__id__exact": tags["独居老人"].pk},
        {"q": "laoren"},
        {"estate__id__exact": world.a.estate.pk, "age": "90-"},
    ):
        _h, rows = _export_rows(client.get(reverse("registry:export_download"), query).getvalue())
        assert [row[3] for row in rows] == [old.name], query


def test_export_page_query_count_is_fixed(world, login, tags, django_assert_max_num_queries):
    client = login(world.a.cadre)
    for count in (2, 30):
        for _ in range(count - Resident.objects.count()):
            ResidentFactory(
                household=HouseholdFactory(dwelling=world.a.dwelling), care_tags=[tags["党员"]]
            )
        with django_assert_max_num_queries(20):
            assert client.get(reverse("registry:export")).status_code == 200
        with django_assert_max_num_queries(20):
            assert client.get(reverse("registry:export_download")).status_code == 200


def test_uploads_round_trip_on_the_file_system_storage(world, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    data = xlsx([person(world.a, "甲")])
    token = upload_store(user=world.a.cadre, filename="甲.xlsx", data=data)
    upload = upload_load(user=world.a.cadre, token=token)
    assert (upload.filename, upload.data) == ("甲.xlsx", data)
    assert upload_load(user=world.b.cadre, token=token) is None
    assert purge_expired_uploads(now=timezone.now() + datetime.timedelta(days=2)) == 1
    assert not list((tmp_path / "imports" / str(world.a.cadre.pk)).iterdir())


# --- safe cells: no formula, no control character, and back again -------------------------------

EVIL = '=HYPERLINK("http://evil.example/","x")'


def _cells(content: bytes):
    """Every non-empty cell of every sheet, as (sheet, value, data_type)."""
    book = load_workbook(io.BytesIO(content))
    return [
        (sheet.title, cell.value, cell.data_type)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def _assert_text_not_formula(content: bytes, text: str):
    cells = _cells(content)
    assert not [cell for cell in cells if cell[2] == "f"], "a formula cell was written"
    found = [cell for cell in cells if cell[1] == "'" + text]
    assert found and all(data_type == "s" for _s, _v, data_type in found)
    return found


def test_a_formula_in_a_name_or_notes_is_text_in_every_export(world, login, tags):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    ResidentFactory(household=household, name=EVIL, notes=EVIL)
    account = UserFactory(verified=True)
    me = ResidentFactory(household=household, name="张三", relation=Relation.SPOUSE)
    me.user = account
    me.save()
    client = login(world.a.cadre)

    registry = client.get(reverse("registry:export_download"))
    assert registry.status_code == 200
    _assert_text_not_formula(registry.getvalue(), EVIL)

    report = client.get(reverse("registry:report_export"))
    assert report.status_code == 200
    _assert_text_not_formula(report.content, EVIL)

    # an import's error workbook echoes the uploaded cell: text too
    rows = [person(world.a, "李四", 证件号码=EVIL)]
    token = upload_store(user=world.a.cadre, filename="a.csv", data=csv_bytes(rows))
    errors = client.get(reverse("registry:import_errors", args=[token]))
    assert errors.status_code == 200
    _assert_text_not_formula(errors.content, EVIL)

    # the resident's own download: a member's name, and the committee's notes about them
    own = login(account).get(reverse("me:data_xlsx"))
    assert own.status_code == 200
    sheets = {sheet for sheet, _v, _t in _assert_text_not_formula(own.content, EVIL)}
    assert sheets == {"household", "members"}  # the head's name, the members' names
    me.notes = EVIL
    me.save()
    own = login(account).get(reverse("me:data_xlsx"))
    sheets = {sheet for sheet, _v, _t in _assert_text_not_formula(own.content, EVIL)}
    assert sheets == {"household", "members", "resident"}


def test_formula_like_values_export_and_import_back_unchanged(world, login):
    household = HouseholdFactory(dwelling=world.a.dwelling)
    for name in ("=1+1", "-5", "+86", "@sum", "'=quoted"):
        ResidentFactory(household=household, name=name)
    world.a.cadre.user_permissions.add(
        Permission.objects.get(codename="view_full_identity", content_type__app_label="residents")
    )
    client = login(world.a.cadre)
    full = client.post(reverse("registry:export_download"), {"full": "on"}).getvalue()
    _headers, rows = _export_rows(full)
    assert sorted(row[3] for row in rows) == sorted(["'=1+1", "'-5", "'+86", "'@sum", "''=quoted"])
    table = read_table(full)
    assert sorted(cells[table.positions["name"]] for _n, cells in table.rows) == sorted(
        ["'=1+1", "'-5", "'+86", "'@sum", "''=quoted"]
    )  # the raw cells; the planner reads them as text without the writer's apostrophe
    result = plan_import(user=world.a.cadre, data=full)
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (0, 0, 5)


def test_a_control_character_already_stored_does_not_break_the_exports(world, login):
    resident = ResidentFactory(household=HouseholdFactory(dwelling=world.a.dwelling), name="王五")
    Resident.objects.filter(pk=resident.pk).update(name="王\x0b五", notes="a\x1fb")
    client = login(world.a.cadre)
    registry = client.get(reverse("registry:export_download"))
    assert registry.status_code == 200
    _headers, rows = _export_rows(registry.getvalue())
    assert [row[3] for row in rows] == ["王五"]
    report = client.get(reverse("registry:report_export"))
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert [row[0] for row in list(sheet.iter_rows(values_only=True))[1:]] == ["王五"]


# --- one rule in one place -----------------------------------------------------------------------


def test_the_resident_fields_are_defined_once():
    from residents.admin.forms import ResidentAdminForm
    from residents.registry_io.planning import _field_labels
    from residents.rules import IMPORT_FIELDS, RESIDENT_FIELDS
    from residents.services.registry import UPDATABLE

    assert set(UPDATABLE) == set(RESIDENT_FIELDS) == set(ResidentAdminForm.SERVICE_FIELDS)
    assert set(IMPORT_FIELDS) == set(RESIDENT_FIELDS) - {"notes"}
    assert set(IMPORT_FIELDS) <= set(_field_labels())


def test_services_and_importer_share_the_headship_rule(world):
    from django.core.exceptions import ValidationError

    from residents.services import household_set_head, resident_create, resident_update

    household = HouseholdFactory(dwelling=world.a.dwelling)
    head = ResidentFactory(household=household, name="户主甲")
    other = ResidentFactory(household=household, name="成员乙")
    assert (head.relation, other.relation) == (Relation.HEAD, Relation.OTHER)
    household.refresh_from_db()
    assert household.head == head
    # a second 户主 is refused by the service as by the importer
    with pytest.raises(ValidationError) as refused:
        resident_create(household=household, name="丙", relation=Relation.HEAD)
    assert "relation" in refused.value.message_dict
    with pytest.raises(ValidationError):
        resident_update(resident=other, relation=Relation.HEAD)
    with pytest.raises(ValidationError):
        resident_update(resident=head, relation=Relation.SPOUSE)
    # handing over: the former head takes another relation, never stays 户主
    household_set_head(household=household, resident=other, former_head_relation=Relation.SPOUSE)
    head.refresh_from_db()
    other.refresh_from_db()
    household.refresh_from_db()
    assert household.head == other and other.relation == Relation.HEAD
    assert head.relation == Relation.SPOUSE
    # the importer: a file naming the old head 户主 again for the same household is refused
    rows = [person(world.a, "户主甲", 证件号码=head.decrypt_identifier(), 与户主关系="户主")]
    [error] = plan_import(user=world.a.cadre, data=xlsx(rows)).errors
    assert error.column == "与户主关系"


def test_the_column_help_is_punctuated_in_chinese(world, login):
    """The help column joins label, values and help with the language's own punctuation
    (a newcomer found "与户主关系: 户主、配偶. 每套…" on the Chinese page)."""
    client = login(world.a.cadre)
    html = client.get(reverse("registry:import"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "与户主关系：户主、" in html
    assert "。每套房屋只能有一名户主。" in html
    assert not re.search(r"[\u4e00-\u9fff]: ", html)
    assert not re.search(r"[\u4e00-\u9fff]\. ", html)
    english = client.get(reverse("registry:import"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Relation to head: 户主、" in english


# --- one parse per upload, and bombs refused ----------------------------------------------------


@pytest.fixture
def reads(monkeypatch):
    """Count the registry reader's calls (every parse of an uploaded file goes through it)."""
    from residents.registry_io import importing

    calls = []
    real = importing.read_registry_table

    def counting(data):
        calls.append(len(data))
        return real(data)

    monkeypatch.setattr(importing, "read_registry_table", counting)
    return calls


def test_the_preview_and_the_errors_workbook_parse_the_file_once(world, login, reads):
    rows = family(world.a, size=3)
    rows[2]["证件号码"] = "110101"  # a bad row, so there is an errors workbook
    token = upload_store(user=world.a.cadre, filename="bad.xlsx", data=xlsx(rows))
    client = login(world.a.cadre)
    for _ in range(2):
        page = client.get(reverse("registry:import_preview", args=[token]))
        assert page.status_code == 200 and "data-import-errors" in page.content.decode()
    workbook = client.get(reverse("registry:import_errors", args=[token]))
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert [cell.value for cell in sheet[2]][0] == 4  # the bad row, as Excel numbers it
    assert len(reads) == 1
    # the kept outcome is encrypted like the file
    for name in default_storage.listdir(f"imports/{world.a.cadre.pk}")[1]:
        with default_storage.open(f"imports/{world.a.cadre.pk}/{name}") as handle:
            stored = handle.read()
        assert "王".encode() not in stored and b"110101" not in stored
    # confirming checks again (the registry may have changed since)
    assert client.post(reverse("registry:import_confirm", args=[token])).status_code == 400
    assert len(reads) == 2 and Resident.objects.count() == 0


def test_a_good_file_is_parsed_once_for_its_preview_and_once_to_save(world, login, reads):
    token = upload_store(user=world.a.cadre, filename="ok.xlsx", data=xlsx(family(world.a)))
    client = login(world.a.cadre)
    for _ in range(3):
        page = client.get(reverse("registry:import_preview", args=[token]))
        assert "data-import-created>3<" in page.content.decode()
    assert len(reads) == 1
    assert client.post(reverse("registry:import_confirm", args=[token])).status_code == 302
    assert len(reads) == 2 and Resident.objects.count() == 3


def _workbook_with_member(data: bytes, name: str, content: bytes) -> bytes:
    import zipfile

    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            target.writestr(member.filename, source.read(member.filename))
        target.writestr(name, content)
    return out.getvalue()


def test_registry_uploads_are_limited_unpacked_and_per_cell(world, settings):
    import os

    data = xlsx([person(world.a, "张三")])
    padded = _workbook_with_member(data, "xl/media/image1.png", os.urandom(1_500_000))
    assert plan_import(user=world.a.cadre, data=padded).ok
    settings.LINLI_IMPORT_MAX_UNZIPPED_BYTES = 1024 * 1024
    assert "Unpacked" in plan_import(user=world.a.cadre, data=padded).file_error

    long_name = xlsx([person(world.a, "张" * 2500)])
    result = plan_import(user=world.a.cadre, data=long_name)
    assert "Row 2, column D holds more than" in result.file_error

    settings.LINLI_IMPORT_MAX_CELLS = 16  # the registry's 16 columns: one row
    two = xlsx([person(world.a, "张三"), person(world.a, "李四", 与户主关系="配偶")])
    assert "cells" in plan_import(user=world.a.cadre, data=two).file_error
