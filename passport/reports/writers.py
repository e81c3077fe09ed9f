"""A report as a file: CSV (one table) or XLSX (the table, and the rules it was compared with)."""

from __future__ import annotations

import csv
import io
from typing import BinaryIO, TextIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from traceability.errors import ApplicationError

from .report import Report

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def checked_format(file_format: str) -> str:
    if file_format not in MEDIA_TYPES:
        raise ApplicationError(
            "format_unknown", f"no format {file_format!r}: choose one of {', '.join(MEDIA_TYPES)}", status=404
        )
    return file_format


def _cell(value: object) -> object:
    return "" if value is None else value


def write_csv(report: Report, stream: TextIO) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([c.header for c in report.columns])
    for row in report.rows:
        writer.writerow([_cell(row.get(c.key)) for c in report.columns])


def _header(sheet, titles: list[str]) -> None:  # type: ignore[no-untyped-def]
    bold = Font(bold=True)
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)


def write_xlsx(report: Report, stream: BinaryIO) -> None:
    """The rows on one sheet; the minimums and targets they were compared with, and their sources, on another."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Report")
    sheet.freeze_panes = "A2"
    _header(sheet, [c.header for c in report.columns])
    for row in report.rows:
        sheet.append([row.get(c.key) for c in report.columns])
    sources = workbook.create_sheet("Sources")
    _header(sources, ["rule", "value", "source"])
    for rule in report.sources:
        sources.append(list(rule))
    sources.append([])
    sources.append([report.title])
    workbook.save(stream)


def report_bytes(report: Report, *, file_format: str) -> bytes:
    if checked_format(file_format) == "csv":
        text = io.StringIO()
        write_csv(report, text)
        return text.getvalue().encode("utf-8")
    data = io.BytesIO()
    write_xlsx(report, data)
    return data.getvalue()
