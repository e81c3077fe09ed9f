"""A report as a file: CSV (one table) or XLSX (the table, and the rules it was compared with)."""

from __future__ import annotations

import io
from typing import BinaryIO, TextIO

from openpyxl import Workbook

from traceability import tables
from traceability.tables import MEDIA_TYPES, checked_format

from .report import Report

__all__ = ["MEDIA_TYPES", "checked_format", "report_bytes", "write_csv", "write_xlsx"]


def write_csv(report: Report, stream: TextIO) -> None:
    tables.write_csv(report.columns, report.rows, stream)


def write_xlsx(report: Report, stream: BinaryIO) -> None:
    """The rows on one sheet; the minimums and targets they were compared with, and their sources, on another."""
    workbook = Workbook(write_only=True)
    tables.table_sheet(workbook, "Report", report.columns, report.rows)
    sources = workbook.create_sheet("Sources")
    tables.header_row(sources, ["rule", "value", "source"])
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
