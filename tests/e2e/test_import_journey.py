"""A cadre on a phone uploads a small spreadsheet, checks the preview, confirms, and sees
the residents listed; then exports them."""

import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from residents.models import Household, Resident
from residents.registry_io import COLUMNS
from tests.factories import PASSWORD, DwellingFactory, make_id_number

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _fits_the_width(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def _workbook(side, rows) -> bytes:
    book = Workbook()
    sheet = book.active
    headers = [column.header for column in COLUMNS]
    sheet.append(headers)
    for name, room, relation, n in rows:
        values = {
            "小区": side.estate.name,
            "楼栋": side.building.number,
            "室号": room,
            "姓名": name,
            "证件号码": make_id_number(n),
            "手机号": f"1391234{n:04d}",
            "与户主关系": relation,
        }
        sheet.append([values.get(header) for header in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_cadre_imports_a_small_spreadsheet_and_sees_the_residents(
    page, live_server, world, screenshot, tmp_path
):
    a = world.a
    DwellingFactory(building=a.building, room="102")
    path = tmp_path / "居民.xlsx"
    path.write_bytes(
        _workbook(
            a,
            [
                ("王建华", "101", "户主", 8101),
                ("李秀兰", "101", "配偶", 8102),
                ("赵志刚", "102", "户主", 8103),
            ],
        )
    )
    problems = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{live_server.url}/accounts/login/?next=/registry/import/")
    page.locator("#id_username").fill(a.cadre.phone)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/registry/import/$"))
    assert _fits_the_width(page)
    screenshot("import-start-360")

    # Upload: the preview says what will happen, and nothing is saved yet.
    page.locator("input[type=file]").set_input_files(str(path))
    page.locator("main form[enctype] button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/registry/import/[0-9a-f]{32}/$"))
    expect(page.locator("[data-import-created]")).to_have_text("3")
    expect(page.locator("main").get_by_text("王建华")).to_be_visible()
    assert Resident.objects.count() == 0
    assert _fits_the_width(page)
    screenshot("import-preview-360")

    # Confirm: the residents are listed (masked), in two households.
    page.locator("form.import-confirm button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/registry/import/done/$"))
    table = page.locator("[data-resident-table]")
    for name in ("王建华", "李秀兰", "赵志刚"):
        expect(table.get_by_text(name)).to_be_visible()
    expect(table.get_by_text(re.compile(r"\*{4}"))).not_to_have_count(0)
    assert Resident.objects.count() == 3 and Household.objects.count() == 2
    assert _fits_the_width(page)
    screenshot("import-done-360")

    # The export page lists them too and downloads a masked workbook.
    page.locator("main").get_by_role("link", name=re.compile("居民|residents", re.I)).first.click()
    expect(page).to_have_url(re.compile(r"/registry/export/"))
    expect(page.locator("[data-export-count]")).to_have_text("3")
    with page.expect_download() as download_info:
        page.locator("form.export-download button[type=submit]").click()
    workbook = load_workbook(io.BytesIO(open(download_info.value.path(), "rb").read()))  # noqa: SIM115
    rows = list(workbook.active.iter_rows(values_only=True))
    assert len(rows) == 4 and all("*" in row[5] for row in rows[1:])
    assert not problems, problems
