"""The 12345 hotline import: upload, dry-run preview with row errors, confirm, re-import."""

import io
import re

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from accounts.models import Role
from accounts.services import role_grant
from issues.hotline import check_hotline
from issues.models import Issue, Source
from tests.factories import BuildingFactory, EstateFactory, NeighbourhoodFactory

pytestmark = pytest.mark.django_db

HEADER = [
    "工单编号",
    "受理时间",
    "诉求类别",
    "诉求内容",
    "地址",
    "小区",
    "楼号",
    "联系人",
    "联系电话",
]


def csv_file(rows, header=HEADER, name="hotline.csv"):
    text = "\n".join(",".join(str(c) for c in row) for row in [header, *rows])
    upload = io.BytesIO(("\ufeff" + text).encode("utf-8"))
    upload.name = name
    return upload


def xlsx_file(rows, header=HEADER, name="hotline.xlsx"):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    buffer.name = name
    return buffer


def good_rows(w):
    estate = w.a.estate.name
    return [
        [
            "SH-0001",
            "2026-03-01 09:30",
            "噪音扰民",
            "楼下夜间施工",
            "某路 1 号",
            estate,
            "1号楼",
            "张先生",
            "13900000001",
        ],
        ["SH-0002", "", "fire-passage", "消防通道被占", "", estate, "1", "", ""],
        ["SH-0003", "2026-03-02", "Illegal construction", "屋顶违建", "", estate, "", "", ""],
    ]


def upload(client, data):
    response = client.post(reverse("issues:import"), {"file": data})
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


def token_of(location):
    return re.search(r"/import/([0-9a-f]{32})/", location).group(1)


def test_upload_page_lists_columns(issue_world, login):
    response = login(issue_world.a.cadre).get(reverse("issues:import"))
    assert response.status_code == 200
    assert "工单编号" in response.content.decode()
    template = login(issue_world.a.cadre).get(reverse("issues:import_template"))
    assert template.status_code == 200
    sheet = load_workbook(io.BytesIO(template.content)).active
    assert [c.value for c in next(sheet.iter_rows())] == HEADER


def test_preview_shows_row_errors_and_writes_nothing(issue_world, login):
    w = issue_world
    client = login(w.a.cadre)
    rows = [
        *good_rows(w),
        ["SH-0004", "", "没有这个类别", "内容", "", w.a.estate.name, "", "", ""],  # row 5
        ["SH-0005", "", "噪音扰民", "内容", "", w.b.estate.name, "", "", ""],  # row 6: B's
        ["SH-0006", "明天", "噪音扰民", "", "", w.a.estate.name, "99号楼", "", ""],  # row 7
        ["SH-0001", "", "噪音扰民", "重复", "", w.a.estate.name, "", "", ""],  # row 8: dup
    ]
    location = upload(client, csv_file(rows))
    response = client.get(location)
    assert response.status_code == 200
    body = response.content.decode()
    for row in (5, 6, 7, 8):
        assert f'data-import-error-row="{row}"' in body
    for row in (2, 3, 4):
        assert f'data-import-error-row="{row}"' not in body
    assert not Issue.objects.exists()
    errors = client.get(reverse("issues:import_errors", args=[token_of(location)]))
    assert errors.status_code == 200
    # confirming a file with bad rows saves nothing
    confirm = client.post(reverse("issues:import_confirm", args=[token_of(location)]))
    assert confirm.status_code == 400
    assert not Issue.objects.exists()


def test_row_errors_are_translated(issue_world):
    from django.utils import translation

    w = issue_world
    data = csv_file([["SH-1", "", "nope", "x", "", w.a.estate.name, "", "", ""]]).getvalue()
    with translation.override("en"):
        english = check_hotline(user=w.a.cadre, data=data).errors[0].message
    assert english.startswith("No category of this name")


def test_estate_outside_the_cadres_scope_is_a_row_error(issue_world):
    w = issue_world
    data = csv_file([["SH-9", "", "噪音扰民", "x", "", w.b.estate.name, "", "", ""]]).getvalue()
    outcome = check_hotline(user=w.a.cadre, data=data)
    assert [(e.row, e.column) for e in outcome.errors] == [(2, "小区")]
    assert outcome.created == 0


def test_confirm_creates_reports_then_reimport_adds_nothing(issue_world, login):
    w = issue_world
    client = login(w.a.cadre)
    location = upload(client, xlsx_file(good_rows(w)))
    preview = client.get(location)
    assert preview.status_code == 200
    assert "data-import-created>3<" in preview.content.decode()
    done = client.post(reverse("issues:import_confirm", args=[token_of(location)]))
    assert done.status_code == 302 and done["Location"] == reverse("issues:import_done")
    assert client.get(done["Location"]).status_code == 200

    issues = Issue.objects.order_by("external_id")
    assert [i.external_id for i in issues] == ["SH-0001", "SH-0002", "SH-0003"]
    first, second, third = issues
    assert {i.source for i in issues} == {Source.HOTLINE}
    assert {i.entered_by_id for i in issues} == {w.a.cadre.pk}
    assert {i.neighbourhood_id for i in issues} == {w.a.neighbourhood.pk}
    assert first.building_id == w.a.building.pk and second.building_id == w.a.building.pk
    assert third.building_id is None and third.estate_id == w.a.estate.pk
    assert first.category == w.noise and second.category == w.passage
    assert third.category == w.building_work
    assert first.contact_name == "张先生" and first.contact_phone == "13900000001"

    # the same file again: everything "already imported", nothing added, no error
    location = upload(client, xlsx_file(good_rows(w)))
    body = client.get(location).content.decode()
    assert "data-import-already>3<" in body and "data-import-errors" not in body
    assert "data-import-nothing" in body
    assert Issue.objects.count() == 3


def test_an_upload_belongs_to_its_user(issue_world, login, client):
    w = issue_world
    location = upload(login(w.a.cadre), csv_file(good_rows(w)))
    token = token_of(location)
    client.logout()
    other = login(w.b.cadre)
    assert other.get(reverse("issues:import_preview", args=[token])).status_code == 404
    assert other.post(reverse("issues:import_confirm", args=[token])).status_code == 404
    assert other.get(reverse("issues:import_errors", args=[token])).status_code == 404
    assert other.post(reverse("issues:import_cancel", args=[token])).status_code == 404
    assert not Issue.objects.exists()


def test_import_needs_manage(issue_world, login):
    response = login(issue_world.a.property_staff).get(reverse("issues:import"))
    assert response.status_code == 403


def test_ambiguous_estate_and_building_spellings(issue_world):
    w = issue_world
    twin = EstateFactory(neighbourhood=w.a.neighbourhood, name=w.a.estate.name + "二期")
    BuildingFactory(estate=twin, number="3栋")
    rows = [["SH-20", "", "噪音扰民", "x", "", twin.name, "3号楼", "", ""]]
    outcome = check_hotline(user=w.a.cadre, data=csv_file(rows).getvalue())
    assert outcome.errors == [] and outcome.created == 1
    # the same estate name in a second neighbourhood the cadre manages
    other = NeighbourhoodFactory(subdistrict=w.subdistrict)
    EstateFactory(neighbourhood=other, name=twin.name)
    role_grant(user=w.a.cadre, role=Role.CADRE, place=other)
    outcome = check_hotline(user=w.a.cadre, data=csv_file(rows).getvalue())
    assert [e.column for e in outcome.errors] == ["小区"]


def test_check_queries_bounded(issue_world, django_assert_max_num_queries):
    w = issue_world
    estate = w.a.estate.name
    for count in (1, 40):
        rows = [
            [f"Q-{count}-{n}", "", "噪音扰民", "x", "", estate, "1号楼", "", ""]
            for n in range(count)
        ]
        data = csv_file(rows).getvalue()
        check_hotline(user=w.a.cadre, data=data)  # warm the scope cache
        with django_assert_max_num_queries(6):
            outcome = check_hotline(user=w.a.cadre, data=data)
        assert outcome.created == count
