"""Tables as files people open in a spreadsheet: CSV (streamed) and XLSX.

One home for how a list leaves the platform: the console's lists (lots, events) and the
regulator's reports write through here. A CSV is streamed row by row, so its memory stays
flat whatever the list's length; an XLSX is written in openpyxl's write-only mode.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from traceability.errors import ApplicationError

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Column:
    key: str
    header: str


def checked_format(file_format: str) -> str:
    if file_format not in MEDIA_TYPES:
        raise ApplicationError(
            "format_unknown", f"no format {file_format!r}: choose one of {', '.join(MEDIA_TYPES)}", status=404
        )
    return file_format


def cell(value: object) -> object:
    return "" if value is None else value


def csv_chunks(columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """The CSV as UTF-8 pieces, a row at a time, for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c.key)) for c in columns])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_csv(columns: Sequence[Column], rows: Iterable[dict[str, Any]], stream: TextIO) -> None:
    for chunk in csv_chunks(columns, rows):
        stream.write(chunk.decode("utf-8"))


def header_row(sheet: Any, titles: Sequence[str]) -> None:
    bold = Font(bold=True)
    cells = []
    for title in titles:
        cell_ = WriteOnlyCell(sheet, value=title)
        cell_.font = bold
        cells.append(cell_)
    sheet.append(cells)


def table_sheet(workbook: Workbook, title: str, columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> None:
    """A sheet of ``workbook`` (write-only) with the table, its header bold and frozen."""
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    header_row(sheet, [c.header for c in columns])
    for row in rows:
        sheet.append([row.get(c.key) for c in columns])


def xlsx_bytes(title: str, columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> bytes:
    workbook = Workbook(write_only=True)
    table_sheet(workbook, title, columns, rows)
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()
