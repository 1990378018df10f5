"""The one XLSX writer every export uses (openpyxl, write-only: rows stream out).

Every value goes through :func:`core.tables.cells.safe_value`: a text is written as a
text cell (never a formula, never an error value), neutralised if it starts like a
formula, without the control characters an XLSX file cannot hold. Numbers, dates and
booleans the code itself produces stay typed cells.

    book = XlsxBook()
    sheet = book.sheet("居民", widths=[14, 10])
    sheet.append(["小区", "楼号"], bold=True)
    for row in rows:
        sheet.append(row)
    content = book.to_bytes()        # or book.save(fileobj)
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .cells import safe_text, safe_value

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BOLD = Font(bold=True)
_TITLE_FORBIDDEN = set("[]:*?/\\")
# Types written as typed cells as they are (an aware datetime goes through safe_value).
_TYPED = frozenset({int, float, bool, datetime.date})


def sheet_title(title: str, default: str = "Sheet") -> str:
    """A title Excel accepts: at most 31 characters, none of []:*?/\\ or control characters."""
    cleaned = "".join(c for c in str(title) if c not in _TITLE_FORBIDDEN and c.isprintable())
    return cleaned[:31].strip().strip("'") or default


class XlsxSheet:
    """One sheet of an :class:`XlsxBook`; rows are appended in order and cannot be revisited."""

    def __init__(self, worksheet, widths: Sequence[int] = (), text_columns: Iterable[int] = ()):
        self._sheet = worksheet
        self._formats: dict[int, str] = {}
        for index, width in enumerate(widths, start=1):
            if width:
                worksheet.column_dimensions[get_column_letter(index)].width = width
        for index in text_columns:
            self.column_format(index, "@")

    @property
    def worksheet(self):
        """The openpyxl sheet, for what rows do not carry (data validation, freeze panes)."""
        return self._sheet

    def column_format(self, index: int, number_format: str) -> None:
        """Format a whole column (1-based), e.g. "@" for text, before any row is written."""
        self._sheet.column_dimensions[get_column_letter(index)].number_format = number_format
        self._formats[index] = number_format

    def append(self, values: Iterable, *, bold: bool = False) -> None:
        if bold or self._formats:
            row = [self._cell(index, value, bold) for index, value in enumerate(values, 1)]
        else:  # the bulk path (an export's rows): the same, with fewer calls per cell
            row = []
            for value in values:
                if value.__class__ is str:
                    value = safe_text(value)
                    if value in ERROR_CODES:
                        value = self._cell(0, value, False)
                elif value is not None and value.__class__ not in _TYPED:
                    value = self._cell(0, value, False)
                row.append(value)
        self._sheet.append(row)

    def _cell(self, index: int, value, bold: bool):
        value = safe_value(value)
        number_format = self._formats.get(index) if value is not None else None
        text = isinstance(value, str)
        if not (bold or number_format or (text and value in ERROR_CODES)):
            return value  # a plain value: openpyxl types it (a safe text is never a formula)
        cell = WriteOnlyCell(self._sheet, value=value)
        if text:
            cell.data_type = "s"  # "#N/A" and the like stay text, not error values
        if bold:
            cell.font = _BOLD
        if number_format:
            cell.number_format = number_format
        return cell


class XlsxBook:
    def __init__(self):
        self._book = Workbook(write_only=True)

    def sheet(
        self,
        title: str,
        *,
        widths: Sequence[int] = (),
        text_columns: Iterable[int] = (),
        freeze_header: bool = False,
    ) -> XlsxSheet:
        worksheet = self._book.create_sheet(title=sheet_title(title))
        if freeze_header:
            worksheet.freeze_panes = "A2"
        return XlsxSheet(worksheet, widths, text_columns)

    def save(self, fileobj) -> None:
        if not self._book.worksheets:
            self._book.create_sheet()
        self._book.save(fileobj)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()
