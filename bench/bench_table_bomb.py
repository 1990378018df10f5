"""How long ``core.tables`` takes to refuse an XLSX "bomb", and the memory it uses.

``python bench/bench_table_bomb.py`` (``--rows N --chars M`` for another size; default
100,000 rows of 20,000-character inline strings, about 2 GB unpacked in about 3 MB, the
upload issue 11 found taking 27 s and 2.2 GB) builds the workbook in memory, streaming
its sheet into the archive, then reads it as the registry import does
(``core.tables.reading.read_table`` with the default limits) and prints the size, the
message, the time to refuse it and the peak memory (ru_maxrss). No database needed.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HEADER = ["小区", "楼栋", "室号", "姓名", "证件号码"]


def bomb(rows: int, chars: int) -> bytes:
    """An openpyxl workbook whose sheet is replaced by a streamed one of long inline strings."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER)
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
    ):
        for member in source.infolist():
            if member.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(member.filename, source.read(member.filename))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
                b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            cells = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in HEADER)
            sheet.write(f"<row>{cells}</row>".encode())
            row = f'<row><c t="inlineStr"><is><t>{"x" * chars}</t></is></c></row>'.encode()
            for _ in range(rows):
                sheet.write(row)
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chars", type=int, default=20_000)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from core.tables.reading import TableFileError, read_table
    from residents.registry_io.columns import table_spec

    started = time.perf_counter()
    data = bomb(args.rows, args.chars)
    built = time.perf_counter() - started
    print(f"bomb: {len(data) / 2**20:.1f} MB uploaded, built in {built:.1f} s")
    started = time.perf_counter()
    try:
        read_table(data, table_spec())
        message = "read (not refused!)"
    except TableFileError as error:
        message = f"refused: {error}"
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{message}\nin {took:.2f} s, peak memory {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
