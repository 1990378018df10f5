"""core.tables on its own: reading XLSX and CSV files, the safe XLSX writer, pending uploads."""

import datetime
import io
import os
import zipfile

import pytest
from django.utils import translation
from openpyxl import Workbook, load_workbook

from core.scoping import Scope
from core.tables.cells import cell_text, restore_text, safe_text, safe_value
from core.tables.flow import RowError, TableOutcome, errors_workbook
from core.tables.reading import TableFileError, TableSpec, normalise_key, read_table
from core.tables.uploads import PendingUploads
from core.tables.xlsx import XlsxBook, sheet_title

HEADERS = {
    normalise_key(name): key
    for name, key in (
        ("名称", "name"),
        ("name", "name"),
        ("电话", "phone"),
        ("地址", "address"),
        ("备注", "note"),
    )
}
SPEC = TableSpec(
    headers=HEADERS,
    required={"name": "名称", "phone": "电话"},
    no_header_message="no header",
    no_rows_message="no rows",
    min_known=2,
    default_headers={"name": "名称", "phone": "电话"},
)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def spec(**changes):
    values = {field: getattr(SPEC, field) for field in SPEC.__dataclass_fields__}
    values.update(changes)
    return TableSpec(**values)


def names(table):
    return [table.cell(cells, "name") for _n, cells in table.rows]


CSV = "名称,电话,地址\n张三,13800138000,幸福路1号\n李四,13900139000,幸福路2号\n"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (CSV.encode("gbk"), "CSV (GBK)"),
        (CSV.encode("utf-8-sig"), "CSV (UTF-8 BOM)"),
        (CSV.encode("utf-8"), "CSV (UTF-8)"),
        (CSV.encode("utf-16"), "CSV (UTF-16)"),
        (CSV.replace(",", "\t").encode("gbk"), "CSV (GBK)"),
    ],
)
def test_csv_encodings_and_delimiters_are_detected(data, kind):
    table = read_table(data, SPEC)
    assert table.kind == kind
    assert names(table) == ["张三", "李四"]
    assert table.header("address") == "地址" and table.letter("address") == "C"


def test_the_header_row_is_found_below_a_title_and_blank_rows_are_skipped():
    book = Workbook()
    sheet = book.active
    sheet.append(["2024 年 热线工单"])  # a title line
    sheet.append([])
    sheet.append(["Name (required)", "电话", "来源"])
    sheet.append(["张三", 13800138000, "x"])
    sheet.append([None, None, None])
    sheet.append(["  ", "", None])
    sheet.append(["李四", "13900139000", None])
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue(), SPEC)
    assert table.kind == "XLSX"
    assert [number for number, _cells in table.rows] == [4, 7]  # rows as Excel numbers them
    assert names(table) == ["张三", "李四"]
    assert cell_text(table.cell(table.rows[0][1], "phone")) == "13800138000"  # no ".0"
    assert table.ignored == ["来源"]
    assert table.header("note") == "note" and table.letter("note") == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, ".xls"),
        (b"PK\x03\x04garbage", "damaged"),
        ("甲,乙\n1,2\n".encode(), "no header"),
        ("名称,备注\n张三,x\n".encode(), "电话"),
        ("名称,电话\n\n,\n".encode(), "no rows"),
        ("名称,电话,name\n张三,1,2\n".encode(), "twice"),
        (b"\x81\x30\xff\xfe\x00\xd8\x00", "encoding"),
    ],
)
def test_a_file_that_cannot_be_a_table_says_why(data, message):
    with pytest.raises(TableFileError) as error:
        read_table(data, SPEC)
    assert message in str(error.value)


def test_size_and_row_limits():
    with pytest.raises(TableFileError, match="larger than"):
        read_table(CSV.encode(), spec(max_bytes=10))
    with pytest.raises(TableFileError, match="more than 1 rows"):
        read_table(CSV.encode(), spec(max_rows=1))
    assert len(read_table(CSV.encode(), spec(max_rows=2)).rows) == 2


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("a=b", "a=b"),
        ("'plain", "'plain"),
        ("王\x0b五\x00", "王五"),
        ("", ""),
    ],
)
def test_text_is_neutralised_and_restored(value, written):
    assert safe_text(value) == written
    assert restore_text(written) == value.replace("\x0b", "").replace("\x00", "")


def test_values_the_code_produces_stay_typed():
    day = datetime.date(2024, 5, 1)
    assert safe_value(day) is day
    assert safe_value(3) == 3 and safe_value(True) is True and safe_value(None) is None
    assert safe_value(["x"]) == "['x']"


def test_the_writer_never_writes_a_formula_and_reads_back_unchanged():
    values = ["=1+1", "-5", "#N/A", "王\x0b五", '=HYPERLINK("http://evil.example/","x")']
    book = XlsxBook()
    sheet = book.sheet("a/b:c*?[x]", widths=[10], text_columns=[1])
    sheet.append(["header", "text"], bold=True)
    for value in values:
        sheet.append([value, datetime.date(2024, 5, 1), 7])
    loaded = load_workbook(io.BytesIO(book.to_bytes()))
    worksheet = loaded.worksheets[0]
    assert worksheet.title == "abcx"
    assert worksheet["A1"].font.b
    cells = [row for row in worksheet.iter_rows(min_row=2)]
    assert all(row[0].data_type == "s" and row[0].number_format == "@" for row in cells)
    assert [row[0].value for row in cells] == [
        "'=1+1",
        "'-5",
        "#N/A",
        "王五",
        '\'=HYPERLINK("http://evil.example/","x")',
    ]
    assert [cell_text(row[0].value) for row in cells] == [
        "=1+1",
        "-5",
        "#N/A",
        "王五",
        '=HYPERLINK("http://evil.example/","x")',
    ]
    assert cells[0][1].is_date and cells[0][2].data_type == "n"


def test_sheet_titles_excel_accepts():
    assert sheet_title("智慧报表: 90+ [2024]") == "智慧报表 90+ 2024"
    assert sheet_title("***", default="report") == "report"
    assert len(sheet_title("x" * 40)) == 31


def test_the_errors_workbook_echoes_uploaded_cells_as_text():
    outcome = TableOutcome(
        file_error="",
        errors=[RowError(row=2, column="名称", letter="A", value="=1+1", message="bad")],
    )
    sheet = load_workbook(io.BytesIO(errors_workbook(outcome))).active
    row = [cell for cell in sheet[2]]
    assert row[2].value == "'=1+1" and row[2].data_type == "s"
    assert row[1].value == "名称 (A)"


def test_scope_covers_a_place_by_any_of_its_ids():
    scope = Scope(
        neighbourhood_ids=frozenset({1}), estate_ids=frozenset({20}), building_ids=frozenset({300})
    )
    assert scope.covers(neighbourhood_id=1)
    assert scope.covers(neighbourhood_id=2, estate_id=20)
    assert scope.covers(neighbourhood_id=2, estate_id=21, building_id=300)
    assert not scope.covers(neighbourhood_id=2, estate_id=21, building_id=301)
    assert not Scope().covers(neighbourhood_id=1, estate_id=20)
    assert Scope(everything=True).covers(neighbourhood_id=99)


@pytest.mark.django_db
def test_pending_uploads_are_per_user_and_kind(settings, tmp_path):
    from tests.factories import UserFactory

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    one, other = UserFactory(), UserFactory()
    hotline = PendingUploads(directory="hotline", salt="tests.hotline")
    registry = PendingUploads(directory="hotline", salt="tests.registry")
    token = hotline.store(user=one, filename="工单.csv", data=b"abc")
    assert hotline.load(user=one, token=token).data == b"abc"
    assert hotline.load(user=other, token=token) is None
    assert registry.load(user=one, token=token) is None  # another kind's salt
    assert hotline.load(user=one, token="not-a-token") is None
    hotline.discard(user=one, token=token)
    assert hotline.load(user=one, token=token) is None


# --- bombs: small uploads that would cost minutes or gigabytes ----------------------------------


def _sheet_xml(rows, *, dimension=None) -> bytes:
    """A sheet of inline-string rows (what a hand-made bomb uses: no shared strings)."""
    head = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    if dimension:
        head += f'<dimension ref="{dimension}"/>'
    body = []
    for number, cells in enumerate(rows, start=1):
        body.append(f'<row r="{number}">')
        body.extend(
            f'<c r="{chr(65 + index)}{number}" t="inlineStr"><is><t>{value}</t></is></c>'
            for index, value in enumerate(cells)
        )
        body.append("</row>")
    return (head + "<sheetData>" + "".join(body) + "</sheetData></worksheet>").encode()


def workbook_with(sheet: bytes | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """An openpyxl workbook whose first sheet's XML is replaced by ``sheet``, plus members."""
    book = Workbook()
    book.active.append(["名称", "电话"])
    buffer = io.BytesIO()
    book.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if sheet is not None and member.filename == "xl/worksheets/sheet1.xml":
                data = sheet
            target.writestr(member.filename, data)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def openpyxl_never_opens(monkeypatch):
    import core.tables.reading as reading

    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl opened a file the limits should have refused")

    monkeypatch.setattr(reading, "load_workbook", refuse)


def test_a_member_compressed_beyond_any_spreadsheet_is_refused_before_opening(
    openpyxl_never_opens,
):
    # 400 rows of 20,000 characters: 8 MB of sheet in a few kilobytes
    sheet = _sheet_xml([("名称", "电话"), *[("x" * 20_000, "1")] * 400])
    data = workbook_with(sheet)
    assert len(data) < 100_000
    with pytest.raises(TableFileError, match="compressed far more") as error:
        read_table(data, SPEC)
    assert "xl/worksheets/sheet1.xml" in str(error.value)


def test_the_unpacked_size_of_all_members_is_limited_before_opening(openpyxl_never_opens):
    # incompressible members: the ratio is fine, the sum is not
    data = workbook_with(extra={f"xl/media/image{i}.png": os.urandom(700_000) for i in range(3)})
    with pytest.raises(TableFileError, match="more than 2 MB"):
        read_table(data, spec(max_unzipped_bytes=2 * 1024 * 1024))


def test_a_workbook_within_the_limits_still_reads(monkeypatch):
    data = workbook_with(
        _sheet_xml([("名称", "电话"), ("张三", "13800138000")]),
        extra={"xl/media/image1.png": os.urandom(300_000)},
    )
    assert names(read_table(data, spec(max_unzipped_bytes=1024 * 1024))) == ["张三"]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_an_overlong_cell_stops_the_reading_with_its_row_and_column(kind):
    rows = [("名称", "电话"), ("张三", "1"), ("李四", "2" * 2001)]
    if kind == "xlsx":
        data = workbook_with(_sheet_xml(rows))
    else:
        data = "\n".join(",".join(row) for row in rows).encode()
    with pytest.raises(TableFileError, match="Row 3, column B holds more than 2,?000 characters"):
        read_table(data, SPEC)
    assert len(read_table(data, spec(max_cell_chars=2001)).rows) == 2


def test_the_number_of_cells_is_limited():
    # 2 rows x 3 columns used (名称, 电话, 地址) = 6 cells
    with pytest.raises(TableFileError, match="more than 5 cells"):
        read_table(CSV.encode(), spec(max_cells=5))
    assert len(read_table(CSV.encode(), spec(max_cells=6)).rows) == 2


def test_a_sheets_declared_size_is_not_trusted(monkeypatch):
    """A sheet claiming A1:XFD1048576 would be padded to 16,384 columns and a million rows."""
    import core.tables.reading as reading

    seen = {"rows": 0, "widest": 0}
    real_find_table = reading.find_table

    def counting(kind, rows, spec):
        def counted():
            for cells in rows:
                seen["rows"] += 1
                seen["widest"] = max(seen["widest"], len(cells))
                yield cells

        return real_find_table(kind, counted(), spec)

    monkeypatch.setattr(reading, "find_table", counting)
    sheet = _sheet_xml([("名称", "电话"), ("张三", "1")], dimension="A1:XFD1048576")
    table = read_table(workbook_with(sheet), SPEC)
    assert names(table) == ["张三"]
    assert seen["rows"] <= 2 and seen["widest"] <= 256
