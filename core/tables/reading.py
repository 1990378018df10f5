"""Reading an uploaded table: an XLSX workbook or a CSV file, recognised by its content.

CSV comes as UTF-8 (with or without BOM), UTF-16 or GBK as Excel in China saves it:
the encoding is detected, the delimiter (comma, tab, semicolon) guessed from the first
line. The header row is searched for among the first rows (a sheet may start with a
title line): the first row naming at least ``TableSpec.min_known`` known columns.
Blank rows are skipped. What the columns are is the caller's: a :class:`TableSpec`
maps header spellings to column keys and names the required ones.

A file is limited before and while it is read, so that a small upload cannot cost
minutes or gigabytes (a "zip bomb"): its size as uploaded; for a workbook, before
openpyxl opens it, the sum of its members' uncompressed sizes and each large
member's compression ratio (``zipfile`` never inflates a member past the size the
archive states); while reading, the number of columns looked at, the length of each
cell kept, the number of rows and of cells (rows × the columns used).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from .cells import cell_text, is_blank

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_KEY_NOISE = re.compile(r"[(（](?:必填|选填|required|optional)[)）]|[\s_\-*:：]", re.IGNORECASE)


class TableFileError(Exception):
    """The file as a whole cannot be read (format, encoding, header, size)."""


def normalise_key(text) -> str:
    """A header or a coded value as compared: no spaces, dashes, "(必填)" marks; lower case."""
    return _KEY_NOISE.sub("", str(text or "")).lower()


@dataclass(frozen=True)
class TableSpec:
    """What a caller's table looks like."""

    headers: dict[str, str]  # normalise_key(spelling) -> column key
    required: dict[str, str]  # column key -> its header, for every required column
    no_header_message: str  # shown when no header row is found
    no_rows_message: str  # shown when the header has nothing under it
    max_bytes: int = 30 * 1024 * 1024
    max_rows: int = 200_000
    # A workbook's members once inflated, all together; the ratio any member over
    # RATIO_FLOOR bytes may be compressed by (a real sheet stays far below it).
    max_unzipped_bytes: int = 300 * 1024 * 1024
    max_ratio: int = 100
    max_cell_chars: int = 2000  # the longest cell kept
    max_cells: int = 4_000_000  # data rows × the columns used
    max_columns: int = 256  # columns read from the left of each row
    min_known: int = 3  # known headers that make a row the header row
    header_search_rows: int = 10
    default_headers: dict[str, str] = field(default_factory=dict)  # key -> header


@dataclass
class Table:
    """The rows of a file under its header row, with the columns understood."""

    kind: str  # "XLSX", "CSV (UTF-8)" …
    headers: list[str]
    positions: dict[str, int]  # column key -> index in a row
    ignored: list[str]  # headers not understood (their cells are ignored)
    rows: list[tuple[int, tuple]]  # (row number in the file, cells)
    default_headers: dict[str, str] = field(default_factory=dict)

    def header(self, key: str) -> str:
        index = self.positions.get(key)
        return self.headers[index] if index is not None else self.default_headers.get(key, key)

    def letter(self, key: str) -> str:
        index = self.positions.get(key)
        return get_column_letter(index + 1) if index is not None else ""

    def cell(self, cells: tuple, key: str):
        index = self.positions.get(key)
        return cells[index] if index is not None and index < len(cells) else None


def read_table(data: bytes, spec: TableSpec) -> Table:
    """Parse an uploaded file, recognised by its content (not its name)."""
    if not data or not data.strip():
        raise TableFileError(_("The file is empty."))
    if len(data) > spec.max_bytes:
        raise TableFileError(
            _("The file is larger than %(size)s MB; split it into several files.")
            % {"size": spec.max_bytes // (1024 * 1024)}
        )
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data, spec)
    if data.startswith(OLE_MAGIC):
        raise TableFileError(
            _(
                "This is an old-style Excel file (.xls). In Excel choose “Save as” and save it "
                "as an Excel workbook (.xlsx) or as CSV, then upload that."
            )
        )
    text, encoding = decode_text(data)
    try:
        table = find_table(f"CSV ({encoding})", csv_rows(text), spec)
    except csv.Error as exc:
        raise TableFileError(
            _("This file could not be read as CSV (%(error)s).") % {"error": exc}
        ) from exc
    if table is None:
        raise TableFileError(spec.no_header_message)
    return table


RATIO_FLOOR = 1024 * 1024  # members smaller than this may be compressed by any ratio


def _damaged() -> str:
    return _("This file could not be read as an Excel workbook (.xlsx); it may be damaged.")


def check_archive(data: bytes, spec: TableSpec) -> None:
    """Refuse a workbook that would inflate beyond the spec's limits, before it is opened."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise TableFileError(_damaged()) from exc
    too_big = _(
        "Unpacked, this workbook would take more than %(size)s MB. Remove what the import "
        "does not need (pictures, other sheets, empty formatted rows) or split it into "
        "several files."
    ) % {"size": spec.max_unzipped_bytes // (1024 * 1024)}
    total = 0
    for member in members:
        total += member.file_size
        if total > spec.max_unzipped_bytes:
            raise TableFileError(too_big)
        if member.file_size > RATIO_FLOOR and (
            member.compress_size <= 0 or member.file_size / member.compress_size > spec.max_ratio
        ):
            raise TableFileError(
                _(
                    "This workbook is compressed far more than a spreadsheet can be "
                    "(%(name)s would grow more than %(ratio)s times); it is not imported. "
                    "Save it again in Excel or as CSV, then upload that."
                )
                % {"name": member.filename[:60], "ratio": spec.max_ratio}
            )


def _read_xlsx(data: bytes, spec: TableSpec) -> Table:
    check_archive(data, spec)
    damaged = _damaged()
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of error for a damaged file
        raise TableFileError(damaged) from exc
    try:
        for sheet in book.worksheets:
            # The size a sheet declares is not trusted: rows are as long as their cells,
            # and never longer than the columns a spec looks at.
            sheet.reset_dimensions()
            rows = sheet.iter_rows(values_only=True, max_col=spec.max_columns)
            table = find_table("XLSX", rows, spec)
            if table is not None:
                return table
    except TableFileError:
        raise
    except Exception as exc:  # damaged sheet XML
        raise TableFileError(damaged) from exc
    finally:
        book.close()
    raise TableFileError(spec.no_header_message)


def decode_text(data: bytes) -> tuple[str, str]:
    """Text and the name of its encoding: UTF-8 (with or without BOM), UTF-16 or GBK."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "UTF-8 BOM"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "UTF-16"
    except UnicodeDecodeError:
        pass
    else:
        try:
            return data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            pass
        try:  # GB18030 is a superset of GBK and GB2312, what Excel in China writes
            return data.decode("gb18030"), "GBK"
        except UnicodeDecodeError:
            pass
    raise TableFileError(
        _(
            "The text encoding of this file could not be recognised. In Excel save it as "
            "“CSV UTF-8” or as an Excel workbook (.xlsx)."
        )
    )


def csv_rows(text: str) -> Iterator[list[str]]:
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)  # a comma wins a tie
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def find_table(kind: str, rows: Iterable, spec: TableSpec) -> Table | None:
    """Find the header row among the first rows, then collect the non-blank rows under it."""
    lookup = spec.headers
    rows = iter(rows)
    for number, cells in enumerate(rows, start=1):
        if number > spec.header_search_rows:
            return None
        cells = cells[: spec.max_columns]
        keys = [
            lookup.get(normalise_key(cell_text(cell))) if not is_blank(cell) else None
            for cell in cells
        ]
        if len({k for k in keys if k}) >= spec.min_known:
            header_number = number
            break
    else:
        return None
    headers = [cell_text(cell) for cell in cells]
    positions: dict[str, int] = {}
    ignored = []
    for index, key in enumerate(keys):
        if key is None:
            if headers[index]:
                ignored.append(headers[index])
            continue
        if key in positions:
            raise TableFileError(
                _("The column “%(name)s” appears twice (columns %(first)s and %(second)s).")
                % {
                    "name": headers[index],
                    "first": get_column_letter(positions[key] + 1),
                    "second": get_column_letter(index + 1),
                }
            )
        positions[key] = index
    missing = [header for key, header in spec.required.items() if key not in positions]
    if missing:
        raise TableFileError(
            _("These columns are missing from the header row: %(columns)s.")
            % {"columns": "、".join(missing)}
        )
    width = max(positions.values()) + 1
    max_rows = min(spec.max_rows, spec.max_cells // width)
    longest = spec.max_cell_chars
    data_rows = []
    for number, cells in enumerate(rows, start=header_number + 1):
        cells = tuple(cells[:width])
        if all(is_blank(cell) for cell in cells):
            continue
        if len(data_rows) >= max_rows:
            if max_rows == spec.max_rows:
                raise TableFileError(
                    _("The file has more than %(limit)s rows; split it into several files.")
                    % {"limit": f"{spec.max_rows:,}"}
                )
            raise TableFileError(
                _(
                    "The file has more than %(limit)s cells (rows × columns used); split it "
                    "into several files."
                )
                % {"limit": f"{spec.max_cells:,}"}
            )
        for index, cell in enumerate(cells):
            if cell.__class__ is str and len(cell) > longest:
                raise TableFileError(
                    _(
                        "Row %(row)s, column %(column)s holds more than %(limit)s characters; "
                        "no cell of this table is that long. Check the file."
                    )
                    % {"row": number, "column": get_column_letter(index + 1), "limit": longest}
                )
        data_rows.append((number, cells))
    if not data_rows:
        raise TableFileError(spec.no_rows_message)
    return Table(
        kind=kind,
        headers=headers,
        positions=positions,
        ignored=ignored,
        rows=data_rows,
        default_headers=dict(spec.default_headers),
    )
