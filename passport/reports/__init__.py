"""Regulator reports: reads of the ledger's projections, written out as CSV or XLSX.

One module per job: ``recycled_content`` (Art. 8 of Regulation (EU) 2023/1542), ``recycling``
(recycling efficiency and material recovery, Annex XII), ``writers`` (CSV and XLSX) and ``report``
(the table both reports fill). This module names the reports and is what callers import.
"""

from __future__ import annotations

from passport.choices import ARTICLE_8_METALS
from traceability.errors import ApplicationError

from .recycled_content import recycled_content_report
from .recycling import RECOVERY_METALS, TARGETS_FILE, recycling_report, recycling_targets
from .report import FIRST_YEAR, LAST_YEAR, Report, target_set
from .writers import MEDIA_TYPES, checked_format, report_bytes

__all__ = [
    "ARTICLE_8_METALS",
    "FIRST_YEAR",
    "LAST_YEAR",
    "MEDIA_TYPES",
    "RECOVERY_METALS",
    "REPORTS",
    "TARGETS_FILE",
    "Report",
    "checked_format",
    "recycled_content_report",
    "recycling_report",
    "recycling_targets",
    "report_build",
    "report_bytes",
    "target_set",
]

REPORTS = {"recycled-content": recycled_content_report, "recycling": recycling_report}


def report_build(*, name: str, year: int | None = None) -> Report:
    if name not in REPORTS:
        raise ApplicationError("report_unknown", f"no report {name!r}: choose one of {', '.join(REPORTS)}", status=404)
    return REPORTS[name](year=year)
